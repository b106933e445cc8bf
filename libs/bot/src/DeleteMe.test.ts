import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import {
  botSessions,
  deliveries,
  filters,
  payments,
  subscriptions,
  trialClaims,
  users,
} from "@flatwatch/db/schema"
import { trialHash } from "@flatwatch/subscriptions/Subscriptions"
import { eq } from "drizzle-orm"
import { BotHarness } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

let h: BotHarness

beforeAll(async () => {
  h = await BotHarness.start()
  await h.startBot()
})
afterAll(() => h.stop())

const countFor = (userId: number) =>
  h.query(
    Database.query(async (db) => ({
      users: await db.$count(users, eq(users.id, userId)),
      filters: await db.$count(filters, eq(filters.userId, userId)),
      subscriptions: await db.$count(subscriptions, eq(subscriptions.userId, userId)),
      deliveries: await db.$count(deliveries, eq(deliveries.userId, userId)),
      payments: await db.$count(payments, eq(payments.userId, userId)),
      sessions: await db.$count(botSessions, eq(botSessions.key, String(userId))),
    })),
  )

test("/deleteme asks first, then leaves no row of that user (a trial fingerprint stays)", async () => {
  const user = h.user(401, { language_code: "en" })
  const bystander = h.user(402, { language_code: "en" })
  await bystander.send("/start")
  await user.send("/start")
  // A saved search (which starts the trial), an alert in the outbox, a payment, and an open editor.
  await user.saveSearch()
  await h.query(
    Database.query((db) =>
      db.insert(deliveries).values({
        userId: 401,
        chatId: 401,
        kind: "notice",
        dedupeKey: "notice:test:401",
        payload: { text: "hello" },
      }),
    ),
  )
  await h.query(
    Database.query((db) =>
      db.insert(payments).values({
        userId: 401,
        plan: "week",
        amount: 50,
        invoicePayload: "order-401",
        status: "paid",
        telegramPaymentChargeId: "charge-401",
        expiresAt: new Date(),
      }),
    ),
  )
  await user.press("🔎 My searches")
  await user.press("➕ New search")
  expect(await countFor(401)).toEqual({
    users: 1,
    filters: 1,
    subscriptions: 1,
    deliveries: 1,
    payments: 1,
    sessions: 1,
  })

  const confirm = await user.send("/deleteme")
  expect(confirm.text).toContain("Delete everything?")
  await user.press("No")
  expect(confirm.text).toBe("Nothing was deleted.")
  expect((await countFor(401)).users).toBe(1)

  const again = await user.send("/deleteme")
  await user.press("Yes, delete everything")
  expect(again.text).toBe(
    "Done: everything about you is erased. Send /start if you ever want to come back.",
  )
  expect(await countFor(401)).toEqual({
    users: 0,
    filters: 0,
    subscriptions: 0,
    deliveries: 0,
    payments: 0,
    sessions: 0,
  })
  // The payment stays as an anonymous accounting record; only a hash marks the used trial.
  const [payment] = await h.query(
    Database.query((db) =>
      db.select().from(payments).where(eq(payments.invoicePayload, "order-401")),
    ),
  )
  expect(payment?.userId).toBeNull()
  const claims = await h.query(Database.query((db) => db.select().from(trialClaims)))
  // (Not "the JSON does not contain 401": the claim time's milliseconds can be .401.)
  expect(claims.map((c) => Object.keys(c).sort())).toEqual([["claimedAt", "idHash"]])
  expect(claims.map((c) => c.idHash)).toEqual([trialHash(401)])
  expect(trialHash(401)).toMatch(/^[0-9a-f]{64}$/)
  // Nobody else was touched.
  expect((await countFor(402)).users).toBe(1)
})

test("back after /deleteme: no second trial, and none is promised", async () => {
  const user = h.user(403, { language_code: "en" })
  const greeting = await user.send("/start")
  expect(greeting.text).toContain("your first one starts a free trial")
  await user.saveSearch()
  expect(user.last()?.text).toContain("Your free trial is on until")
  await user.send("/deleteme")
  await user.press("Yes, delete everything")

  const again = await user.send("/start")
  expect(again.text).toContain("Set up a search with the buttons below.")
  expect(again.text).not.toContain("free trial")
  const [row] = await h.query(
    Database.query((db) => db.select().from(users).where(eq(users.id, 403))),
  )
  expect(row?.trialUsedAt).toBeInstanceOf(Date)
  await user.saveSearch()
  expect(user.last()?.text).toContain(
    "Your subscription is not active, so alerts are off. Subscribe to receive them.",
  )
  expect((await countFor(403)).subscriptions).toBe(0)
  expect((await user.send("/subscription")).text).toContain(
    "No active subscription: alerts are off. Choose a plan below to get them.",
  )
})
