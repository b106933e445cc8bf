import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { payments, subscriptions } from "@flatwatch/db/schema"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import type { Interceptor } from "@flatwatch/telegram/FakeBotApi"
import { FakePayments } from "@flatwatch/telegram/FakeBotApiPayments"
import { eq } from "drizzle-orm"
import { BotHarness, TEST_TOKEN, TestUser } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const ADMIN = 950
const DAY = 86_400_000
let h: BotHarness
let stars: FakePayments

beforeAll(async () => {
  h = await BotHarness.start()
  stars = FakePayments.of(h.fake)
  await h.startBot({ ADMIN_IDS: String(ADMIN) })
})
afterAll(() => h.stop())

const subscriptionsOf = (userId: number) =>
  h.query(
    Database.query((db) => db.select().from(subscriptions).where(eq(subscriptions.userId, userId))),
  )

/** Presses a plan button and resolves with the invoice the bot sent for it. */
const buy = async (user: TestUser, label: string) => {
  const before = stars.invoicesTo(user.id).length
  await user.press(label)
  const invoice = stars.invoicesTo(user.id)[before]
  if (invoice === undefined) throw new Error("no invoice was sent")
  return invoice
}

/** The first line of each message the bot sent the user since their `before`-th. */
const headlinesSince = (user: TestUser, before: number) =>
  user
    .messages()
    .slice(before)
    .map((m) => m.text.split("\n")[0])

/** Buys a plan from the Subscription screen and pays it; resolves once the bot confirmed. */
const purchase = async (user: TestUser, label: string) => {
  const before = user.messages().length
  const paid = await stars.payInvoice(user.from, await buy(user, label))
  if (!paid.ok) throw new Error(`the purchase was refused: ${JSON.stringify(paid.answer)}`)
  await h.chats.waitUntil(() => user.messages()[before + 1]) // the invoice, then the confirmation
  return paid.charge
}

test("the Subscription screen shows the status and a button per plan", async () => {
  const user = h.user(601, { language_code: "en" })
  await user.send("/start")
  await user.press("⭐ Subscription")
  const screen = user.last()
  expect(screen?.text).toContain(
    "No subscription yet: save your first search to start the free trial.",
  )
  expect(TestUser.labels(screen)).toEqual([
    "1 day · 20 ⭐",
    "1 week · 50 ⭐",
    "1 month · 200 ⭐",
    "« Menu",
  ])
  const ru = h.user(602, { language_code: "ru" })
  expect((await ru.send("/subscription")).text).toContain("Подписки пока нет")
  const trialEnd = new Date(Date.now() + DAY)
  await h.query(
    Database.query((db) =>
      db.insert(subscriptions).values({
        userId: 601,
        plan: "trial",
        startsAt: new Date(Date.now() - 1000),
        endsAt: trialEnd,
      }),
    ),
  )
  expect((await user.send("/subscription")).text).toContain(
    `Free trial, until ${formatDateTime("en", trialEnd, "UTC")}.`,
  )
  // A week bought during the trial follows it: the screen shows the paid end, not "trial".
  await purchase(user, "1 week · 50 ⭐")
  const weekEnd = new Date(trialEnd.getTime() + 7 * DAY)
  expect((await user.send("/subscription")).text).toContain(
    `Active until ${formatDateTime("en", weekEnd, "UTC")}.`,
  )
})

test("a plan button sends a Stars invoice for that plan, bound to a new order", async () => {
  const user = h.user(603, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const invoice = await buy(user, "1 week · 50 ⭐")
  expect(invoice).toMatchObject({ currency: "XTR", totalAmount: 50, title: "Flatwatch, 1 week" })
  const call = h.fake.callsTo("sendInvoice").at(-1)
  expect(call?.params.provider_token).toBe("")
  const [order] = await h.query(
    Database.query((db) =>
      db.select().from(payments).where(eq(payments.invoicePayload, invoice.payload)),
    ),
  )
  expect(order).toMatchObject({
    userId: 603,
    plan: "week",
    amount: 50,
    currency: "XTR",
    status: "pending",
  })
})

test("paying credits the order's plan once, even when Telegram delivers the payment twice", async () => {
  const user = h.user(604, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const invoice = await buy(user, "1 month · 200 ⭐")
  const before = user.messages().length
  const started = Date.now()
  const paid = await stars.payInvoice(user.from, invoice)
  if (!paid.ok) throw new Error(`the purchase was refused: ${JSON.stringify(paid.answer)}`)
  const thanks = await h.chats.waitUntil(() => user.messages()[before])
  const [sub] = await subscriptionsOf(604)
  expect(sub).toMatchObject({ plan: "month", status: "active" })
  const endsAt = sub?.endsAt ?? new Date(0)
  expect(endsAt.getTime() - started).toBeGreaterThanOrEqual(30 * DAY - 1000)
  expect(endsAt.getTime() - started).toBeLessThan(30 * DAY + 10_000)
  expect(thanks.text).toBe(
    `✅ Thank you! 1 month is added: your subscription is active until ${formatDateTime("en", endsAt, "UTC")}.`,
  )

  // The same successful_payment again (same charge id): no second period.
  stars.injectSuccessfulPayment(TEST_TOKEN, user.from, {
    payload: invoice.payload,
    totalAmount: invoice.totalAmount,
    telegramPaymentChargeId: paid.charge.telegramPaymentChargeId,
  })
  const again = await h.chats.waitUntil(() => user.messages()[before + 1])
  expect(again.text).toBe(
    `This payment was already counted: your subscription is active until ${formatDateTime("en", endsAt, "UTC")}.`,
  )
  expect(await subscriptionsOf(604)).toHaveLength(1)
  await user.send("/subscription")
  expect(user.last()?.text).toContain(`Active until ${formatDateTime("en", endsAt, "UTC")}.`)
})

test("a tampered pre-checkout is refused with a readable error, in time", async () => {
  const owner = h.user(605, { language_code: "en" })
  const other = h.user(606, { language_code: "ru" })
  await owner.send("/start")
  await owner.send("/subscription")
  const invoice = await buy(owner, "1 day · 20 ⭐")
  const ask = async (from: TestUser, payload: string, totalAmount: number, currency = "XTR") =>
    stars.preCheckoutAnswer(
      stars.injectPreCheckoutQuery(TEST_TOKEN, from.from, { payload, totalAmount, currency }),
    )
  expect(await ask(owner, invoice.payload, 1)).toEqual({
    ok: false,
    errorMessage: "The amount does not match this plan. Open /subscription and try again.",
  })
  expect(await ask(owner, invoice.payload, 20, "USD")).toMatchObject({ ok: false })
  expect(await ask(other, invoice.payload, 20)).toEqual({
    ok: false,
    errorMessage:
      "Этот счёт выставлен другому человеку. Откройте /subscription, чтобы получить свой.",
  })
  expect(await ask(owner, "fw1forged-payload", 20)).toEqual({
    ok: false,
    errorMessage: "This invoice is not valid. Open /subscription and choose a plan again.",
  })
  expect(await ask(owner, invoice.payload, 20)).toEqual({ ok: true })
  const paid = await stars.payInvoice(owner.from, invoice)
  expect(paid.ok).toBe(true)
  await h.chats.waitUntil(() => owner.last()?.text.includes("Thank you") || undefined)
  expect(await ask(owner, invoice.payload, 20)).toEqual({
    ok: false,
    errorMessage: "This invoice is already paid. Open /subscription to see your plan.",
  })
  expect(await subscriptionsOf(606)).toHaveLength(0)
})

test("the renew button under an expiry notice sends an invoice", async () => {
  const user = h.user(607, { language_code: "ru" })
  await user.send("/start")
  const notice = h.fake.messageId(607) // the subscriptions component's expiry notice
  await user.pressData("buy:day", notice)
  expect(stars.invoicesTo(607)).toEqual([
    expect.objectContaining({ totalAmount: 20, title: "Flatwatch, 1 день", currency: "XTR" }),
  ])
})

test("/refund: the admin refunds a charge, the days go, and the user is told", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  const user = h.user(608, { language_code: "ru" })
  await admin.send("/start")
  await user.send("/start")
  await user.send("/subscription")
  const charge = await purchase(user, "1 неделя · 50 ⭐")
  const chargeId = charge.telegramPaymentChargeId

  expect((await user.send(`/refund ${chargeId}`)).text).toContain("Я не понял сообщение")
  expect(charge.refunded).toBe(false)

  const before = user.messages().length
  const reply = await admin.send(`/refund ${chargeId}`)
  expect(reply.text).toBe(
    `Refunded <code>${chargeId}</code> of user 608; their access now ends: —.`,
  )
  expect(charge.refunded).toBe(true)
  const told = await h.chats.waitUntil(() => user.messages()[before])
  expect(told.text).toBe(
    "↩️ Оплата за 1 неделю (50 ⭐) возвращена, этот срок отменён. Сейчас у вас нет активной подписки.",
  )
  // Telegram also posts a refunded_payment service message in the payer's chat: it is neither
  // recorded twice nor answered "I did not understand". (The admin's next command runs after
  // their /refund handler is done; the user's /help after the service message is handled.)
  await admin.send("/stats")
  await user.send("/help")
  expect(headlinesSince(user, before)).toEqual([
    told.text,
    "<b>Flatwatch</b> присылает новые объявления об аренде, подходящие под ваши поиски.",
  ])
  const [payment] = await h.query(
    Database.query((db) =>
      db.select().from(payments).where(eq(payments.telegramPaymentChargeId, chargeId)),
    ),
  )
  expect(payment?.status).toBe("refunded")
  expect((await admin.send(`/refund ${chargeId}`)).text).toBe(
    `Could not refund <code>${chargeId}</code>: it was refunded already.`,
  )
  expect((await admin.send("/refund nope")).text).toBe(
    "Could not refund <code>nope</code>: no payment has this charge id.",
  )
  expect((await admin.send("/refund")).text).toContain("Usage: <code>/refund")
})

test("a refund made outside /refund (Telegram's refunded_payment) is recorded once and the payer told", async () => {
  const user = h.user(609, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const charge = await purchase(user, "1 day · 20 ⭐")
  const [period] = await subscriptionsOf(609)
  expect(period?.status).toBe("active")

  const before = user.messages().length
  charge.refunded = true
  stars.injectRefundedPayment(charge)
  const told = await h.chats.waitUntil(() => user.messages()[before])
  expect(told.text).toBe(
    "↩️ Your payment for 1 day (20 ⭐) was refunded and that period removed. You have no active subscription now.",
  )
  const [payment] = await h.query(
    Database.query((db) =>
      db
        .select()
        .from(payments)
        .where(eq(payments.telegramPaymentChargeId, charge.telegramPaymentChargeId)),
    ),
  )
  expect(payment?.status).toBe("refunded")
  expect((await subscriptionsOf(609)).map((s) => s.status)).toEqual(["refunded"])

  // Delivered again: nothing more happens.
  stars.injectRefundedPayment(charge)
  await user.send("/subscription")
  expect(headlinesSince(user, before)).toEqual([told.text, "⭐ <b>Subscription</b>"])
  expect(user.last()?.text).toContain("No subscription yet")
})

test("service messages in the chat (not written by the user) get no reply", async () => {
  const user = h.user(610, { language_code: "en" })
  await user.send("/start")
  const before = user.messages().length
  h.fake.injectUpdate(TEST_TOKEN, {
    message: {
      message_id: h.fake.messageId(610),
      date: Math.floor(Date.now() / 1000),
      chat: { id: 610, type: "private", first_name: "U" },
      from: { id: 610, is_bot: false, first_name: "U" },
      write_access_allowed: { from_request: true },
    },
  })
  await user.send("/terms")
  expect(headlinesSince(user, before)).toEqual(["<b>Terms of service</b>"])
})

test("a payment that arrives after the payer erased their data (/deleteme) is still credited", async () => {
  const user = h.user(611, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const invoice = await buy(user, "1 week · 50 ⭐")
  const query = stars.injectPreCheckoutQuery(TEST_TOKEN, user.from, {
    payload: invoice.payload,
    totalAmount: invoice.totalAmount,
  })
  expect(await stars.preCheckoutAnswer(query)).toEqual({ ok: true })
  await user.send("/deleteme")
  await user.press("Yes, delete everything")
  const before = user.messages().length
  stars.injectSuccessfulPayment(TEST_TOKEN, user.from, {
    payload: invoice.payload,
    totalAmount: invoice.totalAmount,
  })
  const thanks = await h.chats.waitUntil(() => user.messages()[before])
  expect(thanks.text).toContain("✅ Thank you! 1 week is added")
  expect((await subscriptionsOf(611)).map((s) => [s.plan, s.status])).toEqual([["week", "active"]])
})

test("a payment that cannot be credited: the payer and the admins are told, with the charge id", async () => {
  const user = h.user(612, { language_code: "en" })
  await user.send("/start")
  const before = user.messages().length
  const charge = stars.injectSuccessfulPayment(TEST_TOKEN, user.from, {
    payload: "fw1-no-such-order",
    totalAmount: 50,
  })
  const told = await h.chats.waitUntil(() => user.messages()[before])
  const id = charge.telegramPaymentChargeId
  expect(told.text).toBe(
    "We received your payment but could not add it to your subscription yet. Our team has been " +
      `told and will sort it out; if you write to /paysupport, mention <code>${id}</code>.`,
  )
  const toAdmin = await h.chats.waitUntil(() =>
    h.chats.messages(ADMIN).find((m) => m.text.includes(id)),
  )
  expect(toAdmin.text).toBe(
    `⚠️ A payment of user 612 was not credited: charge <code>${id}</code> (successful payment ${id} names no order). Credit it with /grant or refund it with /refund.`,
  )
  expect(await subscriptionsOf(612)).toEqual([])
  expect(h.logs.some((l) => l.level === "ERROR" && l.message.includes(id))).toBe(true)
})

test("/refund of a payer who erased their data is refused, saying why", async () => {
  const admin = h.user(ADMIN, { language_code: "ru" })
  const user = h.user(613, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const charge = await purchase(user, "1 day · 20 ⭐")
  await user.send("/deleteme")
  await user.press("Yes, delete everything")
  const chargeId = charge.telegramPaymentChargeId
  // The admin reads the bot in English (their row's language), whatever their Telegram app says.
  expect((await admin.send(`/refund ${chargeId}`)).text).toBe(
    `Could not refund <code>${chargeId}</code>: the payer has deleted their account, so Telegram cannot be told who they are.`,
  )
  expect(charge.refunded).toBe(false)
})

test("when Telegram's refunded_payment is handled before /refund records the refund, the payer is told once", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  const user = h.user(614, { language_code: "en" })
  await user.send("/start")
  await user.send("/subscription")
  const charge = await purchase(user, "1 day · 20 ⭐")
  const before = user.messages().length
  // Telegram posts the service message, and the bot handles it, before refundStarPayment returns.
  const interceptor: Interceptor = async (call) => {
    if (call.method !== "refundStarPayment") return undefined
    const answer = stars.refundStarPayment(call)
    await h.chats.waitUntil(() => user.messages()[before])
    return answer
  }
  h.fake.interceptors.push(interceptor)
  try {
    expect((await admin.send(`/refund ${charge.telegramPaymentChargeId}`)).text).toBe(
      `Refunded <code>${charge.telegramPaymentChargeId}</code> of user 614; their access now ends: —.`,
    )
  } finally {
    h.fake.interceptors.splice(h.fake.interceptors.indexOf(interceptor), 1)
  }
  await admin.send("/stats") // after the admin's /refund handler is done
  await user.send("/terms")
  expect(headlinesSince(user, before)).toEqual([
    "↩️ Your payment for 1 day (20 ⭐) was refunded and that period removed. You have no active subscription now.",
    "<b>Terms of service</b>",
  ])
})
