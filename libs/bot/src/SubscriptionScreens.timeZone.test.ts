/**
 * A Dubai operator (`TIME_ZONE=Asia/Dubai`): every date the bot shows is in Dubai time (UTC+4),
 * naming the zone, as the subscription notices do.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { subscriptions } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
import { BotHarness } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const ADMIN = 960
let h: BotHarness

beforeAll(async () => {
  h = await BotHarness.start()
  await h.startBot({ ADMIN_IDS: String(ADMIN), TIME_ZONE: "Asia/Dubai" })
})
afterAll(() => h.stop())

const addPeriod = (userId: number, startsAt: string, endsAt: string) =>
  h.query(
    Database.query((db) =>
      db.insert(subscriptions).values({
        userId,
        plan: "week",
        startsAt: new Date(startsAt),
        endsAt: new Date(endsAt),
      }),
    ),
  )

test("the Subscription screen shows the end in the configured zone, in each language", async () => {
  const en = h.user(701, { language_code: "en" })
  const ru = h.user(702, { language_code: "ru" })
  await en.send("/start")
  await ru.send("/start")
  // 22:00 UTC on 4 December is already 5 December in Dubai.
  await addPeriod(701, "2026-01-01T00:00:00Z", "2036-12-04T22:00:00Z")
  await addPeriod(702, "2026-01-01T00:00:00Z", "2036-12-04T22:00:00Z")
  expect((await en.send("/subscription")).text).toContain(
    "Active until 5 December 2036 at 02:00 GST.",
  )
  expect((await ru.send("/subscription")).text).toContain(
    "Активна до 5 декабря 2036 г. в 02:00 GMT+4.",
  )
})

test("an ended subscription says when it ended, in the configured zone", async () => {
  const user = h.user(703, { language_code: "en" })
  await user.send("/start")
  await addPeriod(703, "2020-01-01T00:00:00Z", "2020-01-01T21:30:00Z")
  expect((await user.send("/subscription")).text).toContain(
    "Expired on 2 January 2020 at 01:30 GST: alerts are off.",
  )
})

test("/grant tells the admin and the user the new end in the configured zone", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  const user = h.user(704, { language_code: "en" })
  await admin.send("/start")
  await user.send("/start")
  const before = user.messages().length
  const reply = await admin.send("/grant 704 7")
  const [period] = await h.query(
    Database.query((db) => db.select().from(subscriptions).where(eq(subscriptions.userId, 704))),
  )
  const endsAt = period?.endsAt ?? new Date(0)
  // Dubai is 4 hours ahead of UTC all year (no daylight saving).
  const dubai = new Date(endsAt.getTime() + 4 * 3_600_000)
  const hhmm = dubai.toISOString().slice(11, 16)
  expect(reply.text).toStartWith("Granted 7 days to 704: access until ")
  expect(reply.text).toContain(`${dubai.getUTCDate()} `)
  expect(reply.text).toEndWith(` at ${hhmm} GST.`)
  const told = await h.chats.waitUntil(() => user.messages()[before])
  expect(told.text).toContain(` at ${hhmm} GST.`)
})
