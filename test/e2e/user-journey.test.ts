/**
 * One renter's whole journey through Flatwatch, end to end: `bun run apps/runner` as a
 * subprocess (bot, parser and subscriptions workers), the fake Telegram Bot API, the fake Bayut,
 * a fresh PostgreSQL database. Anna only presses buttons, types numbers and reads her chat; days
 * pass by restarting the runner with its business clock moved (`CLOCK_OFFSET`), not by sleeping.
 *
 * The steps run in order and build on each other (one user, one runner).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import { logLines } from "../support/runner.ts"
import { type ChatMessage, labelsOf, System, type SystemUser, visible } from "../support/system.ts"

setDefaultTimeout(60_000)

const DAY = 86_400_000
const AED = (n: string) => `AED\u00a0${n}`

/**
 * A 2-day trial with a reminder 1 day before its end: the reminder's moment comes after the
 * trial was created, so it is sent (a 1-day trial gets no "1 day left", by design). A Dubai
 * operator: every date Anna sees, on screens and in notices, is in Dubai time.
 */
const TRIAL = { TRIAL_DURATION: "2 days", REMINDER_OFFSETS: "1 day", TIME_ZONE: "Asia/Dubai" }

/** A date as Anna sees it: `5 December 2026 at 02:00 GST`. */
const formatDate = (date: Date) => formatDateTime("en", date, "Asia/Dubai")

/** Listings at the fake Bayut: what Anna searches for is Dubai Marina, 1-2 rooms, <= 9,000 AED. */
const marina = (id: string, title: string, price: number) => ({
  id,
  title,
  price,
  rooms: 2,
  baths: 2,
  area: 95,
  neighbourhood: "Dubai Marina",
  furnished: true,
})

let system: System
let anna: SystemUser

beforeAll(async () => {
  system = await System.start({ env: TRIAL })
  await system.startRunner()
  anna = system.user(4242, { first_name: "Anna", username: "anna_rents", language_code: "en" })
})
afterAll(async () => {
  await system?.stop()
})

const photoAlerts = (): ChatMessage[] => anna.messages().filter((m) => m.method === "sendPhoto")
const alertFor = (title: string) => (m: ChatMessage) =>
  m.method === "sendPhoto" && visible(m).includes(title)
const listingDeliveries = async () =>
  (await system.deliveriesOf(anna.id))
    .filter((d) => d.kind === "listing")
    .map((d) => d.listingExternalId)

describe("a renter's journey", () => {
  test("1. /start, a search for Dubai Marina, 1-2 rooms, up to 9,000 AED, built with buttons and a typed number; saving it starts the trial", async () => {
    const hello = await anna.send("/start")
    expect(visible(hello)).toStartWith("Hi, Anna! I'm Flatwatch.")
    expect(labelsOf(hello)).toContain("🔎 My searches")

    await anna.press("🔎 My searches")
    expect(anna.lastText()).toContain("You have no searches yet")
    await anna.press("➕ New search")
    expect(anna.lastText()).toContain("Pick the districts you want")
    await anna.press("Dubai Marina")
    expect(labelsOf(anna.last())).toContain("✅ Dubai Marina")
    await anna.press("Next ›")
    expect(anna.lastText()).toContain("What is the lowest monthly rent, in AED?")
    await anna.press("No minimum")
    expect(anna.lastText()).toContain("What is the highest monthly rent, in AED?")
    const rooms = await anna.send("9000")
    expect(visible(rooms)).toContain(`up to ${AED("9,000")}`)
    expect(visible(rooms)).toContain("How many bedrooms?")
    await anna.press("1")
    await anna.press("2")
    expect(labelsOf(anna.last())).toEqual(expect.arrayContaining(["✅ 1", "✅ 2", "Studio"]))
    await anna.press("Next ›")
    expect(anna.lastText()).toContain("How often may the rent be paid?")
    await anna.press("Next ›")
    expect(anna.lastText()).toContain("Furnished or not?")
    await anna.press("Doesn't matter")

    const summary = anna.lastText()
    expect(summary).toContain("Check your search and press Save.")
    expect(summary).toContain("Districts: Dubai Marina")
    expect(summary).toContain(`up to ${AED("9,000")}`)
    expect(summary).toContain("Rooms: 1, 2")

    await anna.press("✅ Save")
    const saved = anna.lastText()
    expect(saved).toContain("✅ Saved “Search 1”.")
    expect(saved).toContain("0 listings this week would have reached you.")
    expect(saved).toContain("🎁 Your free trial is on until")

    // What was stored is exactly what she chose, and the trial runs for TRIAL_DURATION.
    const [filter] = await system.sql`
      select name, market, district_groups, price_min, price_max, rooms, rent_periods, furnishing, active
      from filters where user_id = ${anna.id}`
    expect(filter).toEqual({
      name: "Search 1",
      market: "dubai",
      district_groups: ["Dubai Marina"],
      price_min: null,
      price_max: 9_000,
      rooms: [1, 2],
      rent_periods: [],
      furnishing: null,
      active: true,
    })
    const trial = await system.sql<{ plan: string; starts_at: Date; ends_at: Date }[]>`
      select plan::text, starts_at, ends_at from subscriptions where user_id = ${anna.id}`
    expect(trial.map((t) => t.plan)).toEqual(["trial"])
    const [period] = trial
    expect((period?.ends_at.getTime() ?? 0) - (period?.starts_at.getTime() ?? 0)).toBe(2 * DAY)
    expect(saved).toContain(formatDate(period?.ends_at ?? new Date(0)))
  })

  test("2. a matching flat, a too expensive one and a studio appear: within one parser run she gets exactly the matching alert, with photo, price and link", async () => {
    const mark = anna.mark()
    system.publish(
      // 102,000 a year is 8,500 a month: within her budget.
      {
        ...marina("70001", "Marina Gate 2BR with sea view", 102_000),
        rentFrequency: "yearly",
      },
      marina("70002", "Marina penthouse 2BR", 15_000),
      { ...marina("70003", "Marina studio", 6_000), rooms: 0 },
    )
    await system.waitForStored(["70001", "70002", "70003"])
    // One run stored all three (every run before it found nothing), and queued the alert in
    // the same transaction.
    const runs = await system.sql<{ new: number }[]>`select new from source_runs where new > 0`
    expect([...runs]).toEqual([{ new: 3 }])
    expect(await listingDeliveries()).toEqual(["70001"])

    const alert = await anna.nextMessage(alertFor("Marina Gate 2BR with sea view"), {
      mark,
      what: "the alert for 70001",
    })
    expect(anna.messagesSince(mark)).toEqual([alert])
    expect(alert.params.photo).toBe("https://images.bayut.com/thumbnails/700010-800x600.jpeg")
    const text = visible(alert)
    expect(text).toContain(`💰 ${AED("8,500")} per month`)
    expect(text).toContain(`${AED("102,000")} per year`)
    expect(text).toContain("🛏 2 bedrooms · 🛁 2 baths · 📐 95\u00a0m²")
    expect(text).toContain("📍 Dubai Marina")
    expect(text).not.toContain("penthouse")
    const listingUrl = `${system.bayut.url}/property/details-70001.html`
    expect(alert.text).toContain(`<a href="${listingUrl}">`)
    expect(alert.buttons.flat()).toEqual(
      expect.arrayContaining([
        { text: "🔗 Open listing", url: listingUrl },
        expect.objectContaining({ text: "🔕 Mute this filter" }),
      ]),
    )
  })

  test("3. she mutes the search from the alert: the next matching flat does not reach her; she unmutes; the one after does", async () => {
    expect(await anna.press("🔕 Mute this filter")).toBe("Search paused")
    const muted = anna.last()
    if (muted === undefined) throw new Error("no answer to the mute press")
    expect(visible(muted)).toBe("🔕 “Search 1” is paused: no more alerts from it.")
    expect(labelsOf(muted)).toEqual(["↩️ Undo"])

    const mark = anna.mark()
    system.publish(marina("70004", "Marina Promenade 2BR", 8_000))
    await system.waitForStored(["70004"])
    expect(await listingDeliveries()).toEqual(["70001"])

    expect(await anna.press("↩️ Undo")).toBe("🔔 “Search 1” is active again.")
    expect(visible(muted)).toBe("🔔 “Search 1” is active again.")
    expect(labelsOf(muted)).toEqual([])

    system.publish({ ...marina("70005", "Marina Quays 1BR", 7_000), rooms: 1 })
    const next = await anna.nextMessage(alertFor("Marina Quays 1BR"), {
      mark,
      what: "the alert for 70005",
    })
    // Nothing about the flat that appeared while muted, before or after unmuting.
    expect(anna.messagesSince(mark)).toEqual([next])
    expect(await listingDeliveries()).toEqual(["70001", "70005"])
  })

  test("4. the trial runs out: a reminder a day before, then the expiry notice with plans to buy; then no alerts", async () => {
    let mark = anna.mark()
    await system.moveClockTo("1 day")
    const reminder = await anna.nextMessage((m) => visible(m).includes("free trial ends"), {
      mark,
      what: "the trial reminder",
    })
    const [trial] = await system.sql<{ ends_at: Date }[]>`
      select ends_at from subscriptions where user_id = ${anna.id} and plan = 'trial'`
    const trialEnd = trial?.ends_at ?? new Date(0)
    // The reminder and the bot's screens show the end the same way, in the operator's zone.
    expect(visible(reminder)).toStartWith(
      `⏳ Your free trial ends in 1 day (${formatDate(trialEnd)}).`,
    )
    expect(formatDate(trialEnd)).toEndWith(" GST")
    expect(anna.messagesSince(mark)).toEqual([reminder])

    mark = anna.mark()
    await system.moveClockTo("2 days")
    const expired = await anna.nextMessage((m) => visible(m).includes("trial has ended"), {
      mark,
      what: "the expiry notice",
    })
    expect(visible(expired)).toStartWith("🔔 Your free trial has ended.")
    expect(visible(expired)).toContain("New listings are no longer sent to you.")
    expect(labelsOf(expired)).toEqual(["1 day — 20 ⭐", "7 days — 50 ⭐", "30 days — 200 ⭐"])

    system.publish(marina("70006", "Marina Heights 2BR", 8_200))
    await system.waitForStored(["70006"])
    expect(await listingDeliveries()).toEqual(["70001", "70005"])
    expect(anna.messagesSince(mark)).toEqual([expired])

    // The bot follows the same clock: her subscription screen says it is over.
    const screen = visible(await anna.send("/subscription"))
    expect(screen).toContain(`Expired on ${formatDate(trialEnd)}: alerts are off.`)
  })

  test("5. she buys a week with Stars from the expiry notice: access is back and the next flat arrives", async () => {
    await anna.press("7 days — 50 ⭐")
    const invoice = anna.lastInvoice()
    expect(invoice).toMatchObject({
      title: "Flatwatch, 1 week",
      currency: "XTR",
      totalAmount: 50,
    })
    if (invoice === undefined) throw new Error("no invoice")
    expect(anna.last()?.method).toBe("sendInvoice")

    const thanks = await anna.pay(invoice)
    const [week] = await system.sql<{ ends_at: Date }[]>`
      select ends_at from subscriptions where user_id = ${anna.id} and plan = 'week'`
    const endsAt = week?.ends_at ?? new Date(0)
    // The week starts now (business time: two days after the trial began), not at the old end.
    expect(Math.abs(endsAt.getTime() - (system.now() + 7 * DAY))).toBeLessThan(60_000)
    expect(visible(thanks)).toBe(
      `✅ Thank you! 1 week is added: your subscription is active until ${formatDate(endsAt)}.`,
    )
    expect(visible(await anna.send("/subscription"))).toContain(
      `Active until ${formatDate(endsAt)}.`,
    )
    const [payment] = await system.sql`
      select plan::text, amount, currency, status::text from payments where user_id = ${anna.id}`
    expect(payment).toEqual({ plan: "week", amount: 50, currency: "XTR", status: "paid" })

    const mark = anna.mark()
    system.publish(marina("70007", "Marina Diamond 2BR", 8_800))
    const alert = await anna.nextMessage(alertFor("Marina Diamond 2BR"), {
      mark,
      what: "the alert for 70007",
    })
    expect(visible(alert)).toContain(`💰 ${AED("8,800")} per month`)
    expect(anna.messagesSince(mark)).toEqual([alert])
  })

  test("6. the price of the flat she got drops: she gets the price-drop alert", async () => {
    const mark = anna.mark()
    system.changeListing("70007", { price: 8_000 })
    const drop = await anna.nextMessage((m) => visible(m).includes("Price drop"), {
      mark,
      what: "the price-drop alert",
    })
    expect(drop.method).toBe("sendPhoto")
    const text = visible(drop)
    expect(text).toStartWith("📉 Price drop\nMarina Diamond 2BR")
    expect(text).toContain(`💰 Was ${AED("8,800")}, now ${AED("8,000")} per month (−9%)`)
    expect(anna.messagesSince(mark)).toEqual([drop])
  })

  test("7. SIGTERM: the runner exits 0 within the deadline", async () => {
    const { code, ms } = await system.stopRunner("SIGTERM")
    expect(code).toBe(0)
    expect(ms).toBeLessThan(20_000)
    const lastRun = logLines(system.runs.at(-1)?.output() ?? "").map((l) => l.message)
    expect(lastRun).toEqual(
      expect.arrayContaining([
        "component bot stopped",
        "component parser stopped",
        "component subscriptions stopped",
      ]),
    )
    // Nothing went wrong along the way, as far as the operator's log tells.
    expect(system.errorsLogged()).toEqual([])

    // Looking back at the whole chat: each alert once, one reminder, one expiry notice.
    const alerts = photoAlerts().map((m) => visible(m).split("\n")[0])
    expect(alerts).toEqual([
      "Marina Gate 2BR with sea view",
      "Marina Quays 1BR",
      "Marina Diamond 2BR",
      "📉 Price drop",
    ])
    const delivered = system.fake.limits.delivered.filter((d) => d.chatId === anna.id)
    expect(new Set(delivered.map((d) => d.raw)).size).toBe(delivered.length)
    expect(
      (await system.deliveriesOf(anna.id)).map((d) => [d.kind, d.listingExternalId, d.status]),
    ).toEqual([
      ["listing", "70001", "sent"],
      ["listing", "70005", "sent"],
      ["reminder", null, "sent"],
      ["expired", null, "sent"],
      ["listing", "70007", "sent"],
      ["price_drop", "70007", "sent"],
    ])
  })
})
