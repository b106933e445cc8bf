import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { botSessions, filters, listings, subscriptions } from "@flatwatch/db/schema"
import { trialHash } from "@flatwatch/subscriptions/Subscriptions"
import { eq } from "drizzle-orm"
import { BotHarness, type BotHarness as Harness, type RunningBot, TestUser } from "./BotTestKit.ts"
import { callbackData } from "./CallbackData.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

let h: Harness
let bot: RunningBot

beforeAll(async () => {
  h = await BotHarness.start()
  bot = await h.startBot({ MAX_FILTERS_PER_USER: "2" })
})
afterAll(() => h.stop())

const filtersOf = (userId: number) =>
  h.query(Database.query((db) => db.select().from(filters).where(eq(filters.userId, userId))))

const sessionOf = (userId: number) =>
  h
    .query(
      Database.query((db) =>
        db
          .select()
          .from(botSessions)
          .where(eq(botSessions.key, String(userId))),
      ),
    )
    .then((rows) => rows[0]?.value as { draft?: Record<string, unknown> } | undefined)

const DAY = 24 * 60 * 60 * 1000
let listingSeq = 0
const listing = (overrides: Partial<typeof listings.$inferInsert>) => {
  listingSeq++
  return {
    source: "bayut",
    externalId: `ext-${listingSeq}`,
    market: "dubai",
    url: `https://example.test/${listingSeq}`,
    title: `Flat ${listingSeq}`,
    price: 9_000,
    priceOriginal: 108_000,
    rentPeriod: "yearly" as const,
    currency: "AED",
    rooms: 2,
    districtGroups: ["Dubai Marina"],
    furnished: true,
    firstSeenAt: new Date(Date.now() - DAY),
    ...overrides,
  }
}

test("a whole search made with buttons and typed numbers becomes one filters row with exactly those values", async () => {
  await h.query(
    Database.query((db) =>
      db.insert(listings).values([
        listing({}), // matches
        listing({ rooms: 6, districtGroups: ["JLT", "Dubai Marina"] }), // 6 rooms match "5+"
        listing({ price: 20_000 }), // above the maximum
        listing({ rooms: 1 }), // rooms not picked
        listing({ firstSeenAt: new Date(Date.now() - 8 * DAY) }), // older than a week
        listing({ furnished: false }), // unfurnished
        listing({ rentPeriod: "monthly" }), // period not picked
        listing({ districtGroups: ["Downtown"] }), // elsewhere
      ]),
    ),
  )
  const user = h.user(201, { language_code: "en", first_name: "Sam" })
  await user.send("/start")
  await user.press("🔎 My searches")
  expect(user.last()?.text).toContain("You have no searches yet")
  await user.press("➕ New search")
  const editor = user.last()
  expect(editor?.text).toContain("New search")
  expect(editor?.text).toContain("Pick the districts")
  // One market is enabled, so the editor starts at the districts: all 19 Dubai groups.
  expect(TestUser.labels(editor)).toContain("Al Barsha + Arjan")
  expect(TestUser.labels(editor).filter((l) => !/›|‹|Cancel|Any district/.test(l))).toHaveLength(19)

  await user.press("Dubai Marina")
  await user.press("JLT")
  expect(TestUser.labels(user.last())).toContain("✅ Dubai Marina")
  expect(user.last()?.messageId).toBe(editor?.messageId) // edited in place
  await user.press("Next ›")
  expect(user.last()?.text).toContain("lowest")

  // The lowest price is typed; the editor moves to a new message, the old one loses its buttons.
  const afterMin = await user.send("5 000")
  expect(afterMin.text).toContain("highest")
  await h.chats.waitUntil(() => (editor?.buttons.length === 0 ? true : undefined))
  expect(afterMin.text).toContain("from AED\u00a05,000")
  await user.press("15,000")
  expect(user.last()?.text).toContain("How many bedrooms?")
  await user.press("Studio")
  await user.press("2")
  await user.press("5+")
  await user.press("Next ›")
  await user.press("yearly")
  await user.press("Next ›")
  await user.press("furnished")
  const summary = user.last()
  expect(summary?.text).toContain("Check your search")
  expect(summary?.text).toContain("Districts: Dubai Marina, JLT")
  expect(summary?.text).toContain("AED\u00a05,000 – AED\u00a015,000")
  expect(summary?.text).toContain("Rooms: Studio, 2, 5+")
  await user.press("🏷 Name")
  expect(user.last()?.text).toContain("Type a name")
  const renamed = await user.send("Marina   flats ")
  expect(renamed.text).toContain("🏷 Marina flats")
  const answer = await user.press("✅ Save")
  expect(answer.text).toBeUndefined()
  const saved = user.last()
  expect(saved?.text).toContain("Saved “Marina flats”.")
  expect(saved?.text).toContain("2 listings this week would have reached you.")
  expect(saved?.text).toContain("Your free trial is on until")

  const rows = await filtersOf(201)
  expect(rows).toHaveLength(1)
  expect(rows[0]).toMatchObject({
    name: "Marina flats",
    market: "dubai",
    districtGroups: ["Dubai Marina", "JLT"],
    priceMin: 5_000,
    priceMax: 15_000,
    rooms: [0, 2, 5],
    rentPeriods: ["yearly"],
    furnishing: "furnished",
    active: true,
  })
  // The first saved search started the one free trial; the editor state is gone.
  const subs = await h.query(
    Database.query((db) => db.select().from(subscriptions).where(eq(subscriptions.userId, 201))),
  )
  expect(subs.map((s) => s.plan)).toEqual(["trial"])
  expect((await sessionOf(201))?.draft).toBeUndefined()

  // Edit: open it from the list, change the rooms, save.
  await user.press("🔎 My searches")
  expect(user.last()?.text).toContain("Your searches</b> (1 of 2)")
  await user.press("▶️ Marina flats")
  await user.press("✏️ Edit")
  expect(user.last()?.text).toContain("Editing “Marina flats”")
  await user.press("🛏 Rooms")
  await user.press("✅ Studio")
  await user.press("Next ›")
  await user.press("Next ›")
  await user.press("Doesn't matter")
  await user.press("✅ Save")
  expect(user.last()?.text).toContain("Saved “Marina flats”.")
  expect(user.last()?.text).not.toContain("free trial")
  const edited = await filtersOf(201)
  expect(edited).toHaveLength(1)
  expect(edited[0]).toMatchObject({
    id: rows[0]?.id,
    rooms: [2, 5],
    furnishing: null,
    priceMin: 5_000,
  })

  // Pause and resume it, then delete it.
  await user.press("🔎 My searches")
  await user.press("Marina flats")
  expect((await user.press("⏸ Pause")).text).toContain("is paused")
  expect((await filtersOf(201))[0]?.active).toBe(false)
  expect(user.last()?.text).toContain("⏸ paused")
  await user.press("▶️ Resume")
  expect((await filtersOf(201))[0]?.active).toBe(true)
  await user.press("🗑 Delete")
  expect(user.last()?.text).toContain("Delete the search “Marina flats”?")
  expect((await user.press("🗑 Yes, delete")).text).toContain("Deleted")
  expect(await filtersOf(201)).toHaveLength(0)
  expect(user.last()?.text).toContain("You have no searches yet")
})

test("invalid prices are refused with a clear message and nothing is stored", async () => {
  const user = h.user(202, { language_code: "en" })
  await user.send("/start")
  await user.press("🔎 My searches")
  await user.press("➕ New search")
  await user.press("Next ›")
  expect((await user.send("cheap")).text).toBe(
    "“cheap” is not a number. Type the monthly rent in AED using digits, for example 8000.",
  )
  // A long text is quoted shortened, never with half an emoji (Telegram refuses broken UTF-8).
  const quoted = (await user.send(`${"x".repeat(39)}🏠 and more`)).text
  expect(quoted).toBe(
    `“${"x".repeat(39)}…” is not a number. Type the monthly rent in AED using digits, for example 8000.`,
  )
  expect(quoted.isWellFormed()).toBe(true)
  expect((await user.send("-500")).text).toContain("cannot be negative")
  expect((await user.send("12.5")).text).toContain("is not a number")
  expect((await user.send("5000000")).text).toBe(
    "That is more than AED\u00a01,000,000 a month, which looks like a typo. Type a monthly rent up to AED\u00a01,000,000.",
  )
  expect((await sessionOf(202))?.draft).toMatchObject({ priceMin: null, step: "priceMin" })
  // A valid minimum, then a maximum below it.
  await user.send("10000")
  expect((await user.send("5,000")).text).toBe(
    "The highest rent (AED\u00a05,000) cannot be below the lowest (AED\u00a010,000). Type a number of at least AED\u00a010,000, or press “No maximum”.",
  )
  expect((await sessionOf(202))?.draft).toMatchObject({
    priceMin: 10_000,
    priceMax: null,
    step: "priceMax",
  })
  // Quick picks below the minimum are not offered; going back and raising the minimum above a maximum is refused.
  expect(TestUser.labels(user.last())).not.toContain("5,000")
  await user.press("20,000")
  await user.press("‹ Back")
  await user.press("‹ Back")
  expect((await user.send("30000")).text).toContain(
    "The lowest rent (AED\u00a030,000) cannot be above the highest (AED\u00a020,000)",
  )
  expect(await filtersOf(202)).toHaveLength(0)
  const editor = h.chats.findButton(202, "✖ Cancel")?.message
  await user.press("✖ Cancel")
  expect(editor?.text).toBe("Cancelled: nothing was changed.")
  expect(await sessionOf(202)).toBeUndefined()
})

test("a forged button naming another user's filter is refused and changes nothing; so is a stale one", async () => {
  const owner = h.user(203, { language_code: "en" })
  const intruder = h.user(204, { language_code: "ru" })
  await owner.send("/start")
  await intruder.send("/start")
  await owner.press("🔎 My searches")
  await owner.press("➕ New search")
  await owner.press("Next ›")
  await owner.send("1000")
  await owner.press("No maximum")
  await owner.press("Next ›")
  await owner.press("Next ›")
  await owner.press("Doesn't matter")
  await owner.press("✅ Save")
  const [mine] = await filtersOf(203)
  if (mine === undefined) throw new Error("the owner's filter was not saved")
  const anyMessage = intruder.last()?.messageId ?? 1
  for (const forged of [
    callbackData({ _tag: "flt", op: "delok", filterId: mine.id }),
    callbackData({ _tag: "flt", op: "pause", filterId: mine.id }),
    callbackData({ _tag: "flt", op: "ren", filterId: mine.id }),
    callbackData({ _tag: "flt", op: "edit", filterId: mine.id }),
    callbackData({ _tag: "mute", filterId: mine.id }),
  ]) {
    const answer = await intruder.pressData(forged, anyMessage)
    expect(answer).toMatchObject({ text: "Эта кнопка устарела.", show_alert: true })
  }
  // Editor buttons of someone else's draft do nothing either: the intruder has no draft.
  expect(await intruder.pressData(callbackData({ _tag: "e.save" }), anyMessage)).toMatchObject({
    text: "Эта кнопка устарела.",
  })
  // Not an action at all.
  expect(await intruder.pressData("flt:delok:1;drop table", anyMessage)).toMatchObject({
    text: "Эта кнопка устарела.",
  })
  expect(await filtersOf(203)).toEqual([mine])
  expect(await filtersOf(204)).toHaveLength(0)

  // The owner deletes it; the old card's buttons are now stale for the owner too.
  await owner.press("🔎 My searches")
  await owner.press(mine.name)
  const card = owner.last()
  await owner.press("🗑 Delete")
  await owner.press("🗑 Yes, delete")
  const pause = callbackData({ _tag: "flt", op: "pause", filterId: mine.id })
  expect(await owner.pressData(pause, card?.messageId ?? 1)).toMatchObject({
    text: "This button is out of date.",
  })
  expect(await filtersOf(203)).toHaveLength(0)
})

test("at most MAX_FILTERS_PER_USER searches", async () => {
  const user = h.user(205, { language_code: "en" })
  await user.send("/start")
  await user.saveSearch()
  await user.saveSearch()
  expect((await filtersOf(205)).map((f) => f.name)).toEqual(["Search 1", "Search 2"])
  await user.press("🔎 My searches")
  expect(user.last()?.text).toContain("(2 of 2)")
  expect(TestUser.labels(user.last())).not.toContain("➕ New search")
  // A "New search" button from an older message is refused at the limit.
  expect(
    await user.pressData(callbackData({ _tag: "fnew" }), user.last()?.messageId ?? 1),
  ).toMatchObject({
    text: "You already have 2 searches, the most allowed. Delete one to add another.",
  })
  expect(await filtersOf(205)).toHaveLength(2)
})

test("the mute button under an alert pauses that filter, with an undo", async () => {
  const user = h.user(206, { language_code: "en" })
  await user.send("/start")
  const [row] = await h.query(
    Database.query((db) =>
      db.insert(filters).values({ userId: 206, name: "Alerts", market: "dubai" }).returning(),
    ),
  )
  if (row === undefined) throw new Error("no filter")
  const alertMessageId = h.fake.messageId(206) // an alert the delivery side sent
  const answer = await user.pressData(`mute:${row.id}`, alertMessageId)
  expect(answer.text).toBe("Search paused")
  expect((await filtersOf(206))[0]?.active).toBe(false)
  expect(user.last()?.text).toBe("🔕 “Alerts” is paused: no more alerts from it.")
  await user.press("↩️ Undo")
  expect((await filtersOf(206))[0]?.active).toBe(true)
  expect(user.last()?.text).toBe("🔔 “Alerts” is active again.")
  expect(user.last()?.buttons).toEqual([])
})

test("the bot restarted in the middle of the editor continues where the user was", async () => {
  const user = h.user(207, { language_code: "ru" })
  await user.send("/start")
  await user.press("🔎 Мои поиски")
  await user.press("➕ Новый поиск")
  await user.press("Business Bay")
  await user.press("Далее ›")
  await user.send("7000")
  expect(user.last()?.text).toContain("максимальная")

  await bot.stop()
  bot = await h.startBot({ MAX_FILTERS_PER_USER: "2" })

  const next = await user.send("9 000")
  expect(next.text).toContain("Сколько спален?")
  expect(next.text).toContain("7\u00a0000\u00a0AED – 9\u00a0000\u00a0AED")
  await user.press("1")
  await user.press("Далее ›")
  await user.press("Далее ›")
  await user.press("без мебели")
  await user.press("✅ Сохранить")
  expect(user.last()?.text).toContain("Поиск «Поиск 1» сохранён.")
  expect(user.last()?.text).toContain("За эту неделю вам пришло бы 0 объявлений.")
  expect(await filtersOf(207)).toEqual([
    expect.objectContaining({
      districtGroups: ["Business Bay"],
      priceMin: 7_000,
      priceMax: 9_000,
      rooms: [1],
      furnishing: "unfurnished",
    }),
  ])
})

test("rename a search by typing its new name", async () => {
  const user = h.user(208, { language_code: "en" })
  await user.send("/start")
  const [row] = await h.query(
    Database.query((db) =>
      db.insert(filters).values({ userId: 208, name: "Old name", market: "dubai" }).returning(),
    ),
  )
  await user.send("/filters")
  await user.press("Old name")
  await user.press("🏷 Rename")
  expect(user.last()?.text).toBe("Type a new name for “Old name” (up to 64 characters).")
  expect((await user.send("x".repeat(65))).text).toBe(
    "A name must be 1 to 64 characters long. Type another one.",
  )
  const [renamed] = await user.sendExpecting("  <New> name  ", 2)
  expect(renamed?.text).toBe("Renamed to “&lt;New&gt; name”.")
  expect((await filtersOf(208))[0]).toMatchObject({ id: row?.id, name: "<New> name" })
  // The next text is not taken as a name any more.
  expect((await user.send("Another")).text).toContain("I did not understand that")
})

test("when the old editor message cannot lose its buttons (400: too old to edit), the editor still moves on", async () => {
  const user = h.user(210, { language_code: "en" })
  await user.send("/start")
  await user.press("🔎 My searches")
  await user.press("➕ New search")
  await user.press("Next ›")
  h.failOnce("editMessageReplyMarkup", 210, 400, "Bad Request: message to edit not found")
  const before = h.logs.length
  expect((await user.send("4000")).text).toContain("highest")
  // The user's next update is handled once the previous one is done (session and log written).
  await user.send("/help")
  expect((await sessionOf(210))?.draft).toMatchObject({ priceMin: 4_000, step: "priceMax" })
  // Expected for an old message: nothing to undo, nothing to warn about.
  expect(h.logs.slice(before).filter((l) => l.level === "WARN" || l.level === "ERROR")).toEqual([])
  expect(
    h.fake.calls.filter(
      (c) => c.method === "editMessageReplyMarkup" && Number(c.params.chat_id) === 210,
    ).length,
  ).toBeGreaterThan(0)
})

test("a save that fails half way stores nothing, and pressing Save again saves once", async () => {
  const user = h.user(211, { language_code: "en" })
  await user.send("/start")
  // The database refuses this user's trial claim, as a lost connection or a full disk would.
  await h.query(
    Database.sql((sql) =>
      sql.unsafe(`
        create function fail_trial_211() returns trigger language plpgsql as $$
          begin raise exception 'scripted failure'; end $$;
        create trigger fail_trial_211 before insert on trial_claims for each row
          when (new.id_hash = '${trialHash(211)}') execute function fail_trial_211();`),
    ),
  )
  const list = await user.send("/filters")
  await user.pressData(callbackData({ _tag: "fnew" }), list.messageId)
  expect(await user.pressData(callbackData({ _tag: "e.save" }), list.messageId)).toMatchObject({
    text: "Sorry, something went wrong on our side. Please try again in a moment.",
    show_alert: true,
  })
  expect(await filtersOf(211)).toEqual([])
  expect((await sessionOf(211))?.draft).toMatchObject({ filterId: null, step: "districts" })

  await h.query(Database.sql((sql) => sql`drop trigger fail_trial_211 on trial_claims`))
  await user.pressData(callbackData({ _tag: "e.save" }), list.messageId)
  expect((await filtersOf(211)).map((f) => f.name)).toEqual(["Search 1"])
  expect(list.text).toContain("Your free trial is on until")
})
