import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { deliveries, subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import type { TextPayload } from "@flatwatch/telegram/Outbox"
import { and, asc, eq, inArray } from "drizzle-orm"
import {
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Logger,
  LogLevel,
  ManagedRuntime,
  type Redacted,
  type Scope,
  TestClock,
  TestContext,
} from "effect"
import { Subscriptions } from "./Subscriptions.ts"
import {
  parseReminderOffsets,
  SubscriptionsWorker,
  SubscriptionsWorkerConfig,
} from "./SubscriptionsWorker.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

class TestDbUrl extends Context.Tag("TestDbUrl")<TestDbUrl, Redacted.Redacted<string>>() {}

const testDb = Layer.scoped(
  TestDbUrl,
  Effect.map(TestDatabase.make, (db) => db.url),
)
const database = Layer.scoped(
  Database,
  Effect.flatMap(TestDbUrl, (url) => Database.make({ url, component: "worker-1", poolSize: 4 })),
)

const runtime = ManagedRuntime.make(
  Layer.mergeAll(SubscriptionsWorker.Default, Subscriptions.Default).pipe(
    Layer.provideMerge(database),
    Layer.provideMerge(testDb),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  ),
)
afterAll(() => runtime.dispose())

const DAY = Duration.toMillis(Duration.days(1))
const T0 = Date.UTC(2026, 10, 1, 12)

type R = SubscriptionsWorker | Subscriptions | Database | TestDbUrl | Scope.Scope
const run = <A, E>(effect: Effect.Effect<A, E, R>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      return yield* effect
    }).pipe(Effect.scoped, Effect.provide(TestContext.TestContext)),
  )

let nextUser = 5000
const newUser = (language: "en" | "ru" = "en") =>
  Effect.suspend(() => {
    const id = nextUser++
    return Database.query((db) => db.insert(users).values({ id, chatId: id + 1, language })).pipe(
      Effect.as(id),
    )
  })

const at = (ms: number) => TestClock.setTime(ms)
const tick = Effect.flatMap(SubscriptionsWorker, (w) => w.tick)

const noticesOf = (userId: number) =>
  Database.query((db) =>
    db
      .select({
        kind: deliveries.kind,
        dedupeKey: deliveries.dedupeKey,
        chatId: deliveries.chatId,
        status: deliveries.status,
        payload: deliveries.payload,
      })
      .from(deliveries)
      .where(eq(deliveries.userId, userId))
      .orderBy(asc(deliveries.id)),
  ).pipe(
    Effect.map((rows) => rows.map((r) => ({ ...r, payload: r.payload as TextPayload | null }))),
  )

const periodIds = (userId: number) =>
  Database.query((db) =>
    db
      .select({ id: subscriptions.id, status: subscriptions.status })
      .from(subscriptions)
      .where(eq(subscriptions.userId, userId))
      .orderBy(asc(subscriptions.startsAt)),
  )

const buy = (userId: number, plan: "day" | "week" | "month", days: number) =>
  Effect.flatMap(Subscriptions, (s) => s.extend(userId, plan, Duration.days(days)))

describe("reminders and expiry", () => {
  test("a week: reminders 3 days and 1 day before, each once, then one expiry notice", async () => {
    const result = await run(
      Effect.gen(function* () {
        const user = yield* newUser("en")
        yield* buy(user, "week", 7) // ends T0+7d
        const [period] = yield* periodIds(user)
        const steps: Record<string, unknown> = {}
        steps.start = yield* tick
        yield* at(T0 + 4 * DAY - 60_000)
        steps.justBefore3d = yield* tick
        yield* at(T0 + 4 * DAY)
        steps.at3d = yield* tick
        steps.at3dAgain = yield* tick
        yield* at(T0 + 5 * DAY)
        steps.between = yield* tick
        yield* at(T0 + 6 * DAY + 30_000)
        steps.at1d = yield* tick
        yield* at(T0 + 7 * DAY)
        steps.atEnd = yield* tick
        yield* at(T0 + 7 * DAY + 60_000)
        steps.afterEnd = yield* tick
        return {
          user,
          id: period?.id,
          steps,
          notices: yield* noticesOf(user),
          periods: yield* periodIds(user),
        }
      }),
    )
    const none = { expired: 0, expiryNotices: 0, reminders: 0 }
    expect(result.steps).toEqual({
      start: none,
      justBefore3d: none,
      at3d: { ...none, reminders: 1 },
      at3dAgain: none,
      between: none,
      at1d: { ...none, reminders: 1 },
      atEnd: { expired: 1, expiryNotices: 1, reminders: 0 },
      afterEnd: none,
    })
    expect(result.periods).toEqual([{ id: result.id as number, status: "expired" }])
    const [r3, r1, expired] = result.notices
    expect(result.notices.map((n) => [n.kind, n.dedupeKey, n.chatId, n.status])).toEqual([
      ["reminder", `reminder:${result.id}:3d`, result.user + 1, "pending"],
      ["reminder", `reminder:${result.id}:1d`, result.user + 1, "pending"],
      ["expired", `expired:${result.id}`, result.user + 1, "pending"],
    ])
    expect(r3?.payload?.text).toBe(
      "⏳ <b>Your Flatwatch subscription ends in 3 days</b> (8 November 2026 at 12:00 UTC).\n" +
        "Renew now to keep getting new listings without a gap: the days you buy are added after your current period.",
    )
    expect(r1?.payload?.text).toContain("ends in 1 day</b> (8 November 2026 at 12:00 UTC)")
    expect(expired?.payload?.text).toStartWith("🔔 <b>Your Flatwatch subscription has ended.</b>")
    expect(expired?.payload?.buttons).toEqual([
      [{ text: "1 day — 20 ⭐", callback_data: "buy:day" }],
      [{ text: "7 days — 50 ⭐", callback_data: "buy:week" }],
      [{ text: "30 days — 200 ⭐", callback_data: "buy:month" }],
    ])
  })

  test("notices are in the user's language", async () => {
    const notices = await run(
      Effect.gen(function* () {
        const user = yield* newUser("ru")
        yield* buy(user, "month", 30)
        yield* at(T0 + 27 * DAY)
        yield* tick
        yield* at(T0 + 30 * DAY)
        yield* tick
        return yield* noticesOf(user)
      }),
    )
    expect(notices.map((n) => n.payload?.text)).toEqual([
      "⏳ <b>Ваша подписка Flatwatch закончится через 3 дня</b> (1 декабря 2026 г. в 12:00 UTC).\n" +
        "Продлите сейчас, чтобы получать объявления без перерыва: купленные дни добавятся после текущего периода.",
      "🔔 <b>Ваша подписка Flatwatch закончилась.</b>\n" +
        "Новые объявления больше не приходят. Ваши фильтры сохранены: выберите тариф, и уведомления сразу возобновятся.",
    ])
    expect(notices[1]?.payload?.buttons?.[1]).toEqual([
      { text: "7 дней — 50 ⭐", callback_data: "buy:week" },
    ])
  })

  test("a 1-day trial gets no reminder the moment it starts, only the expiry notice", async () => {
    const notices = await run(
      Effect.gen(function* () {
        const subs = yield* Subscriptions
        const user = yield* newUser("en")
        yield* subs.startTrial(user)
        yield* tick
        yield* at(T0 + DAY / 2)
        yield* tick
        yield* at(T0 + DAY)
        yield* tick
        return yield* noticesOf(user)
      }),
    )
    expect(notices.map((n) => n.kind)).toEqual(["expired"])
    expect(notices[0]?.payload?.text).toStartWith("🔔 <b>Your free trial has ended.</b>")
  })

  test("an extension before the end: no more notices for the old end, reminders for the new one", async () => {
    const result = await run(
      Effect.gen(function* () {
        const user = yield* newUser("en")
        yield* buy(user, "week", 7) // #1: T0 .. T0+7d
        yield* at(T0 + 4 * DAY)
        yield* tick // 3-day reminder for #1
        yield* at(T0 + 6 * DAY + 60_000)
        // Queued but not sent yet when the user extends: it speaks of the old end.
        yield* tick // 1-day reminder for #1
        yield* at(T0 + 6 * DAY + 120_000)
        yield* buy(user, "week", 7) // #2: T0+7d .. T0+14d
        const ticks = []
        for (const day of [6.5, 7, 8, 11, 13, 14, 15]) {
          yield* at(T0 + day * DAY)
          ticks.push(yield* tick)
        }
        return { ticks, notices: yield* noticesOf(user), periods: yield* periodIds(user) }
      }),
    )
    const [first, second] = result.periods
    expect(result.periods.map((p) => p.status)).toEqual(["expired", "expired"])
    expect(result.notices.map((n) => [n.dedupeKey, n.status])).toEqual([
      // Both were still unsent when the user extended (no sender runs here): withdrawn.
      [`reminder:${first?.id}:3d`, "cancelled"],
      [`reminder:${first?.id}:1d`, "cancelled"],
      [`reminder:${second?.id}:3d`, "pending"],
      [`reminder:${second?.id}:1d`, "pending"],
      [`expired:${second?.id}`, "pending"],
    ])
    // The old end passes quietly: the period is expired, with no notice.
    expect(result.ticks[1]).toEqual({ expired: 1, expiryNotices: 0, reminders: 0 })
    expect(result.notices[2]?.payload?.text).toContain("(15 November 2026 at 12:00 UTC)")
  })

  test("buying after expiry starts a new period with its own reminders", async () => {
    const notices = await run(
      Effect.gen(function* () {
        const user = yield* newUser("en")
        yield* buy(user, "day", 1)
        yield* at(T0 + DAY)
        yield* tick
        yield* at(T0 + 3 * DAY)
        yield* buy(user, "week", 7) // T0+3d .. T0+10d
        yield* at(T0 + 9 * DAY)
        yield* tick
        return yield* noticesOf(user)
      }),
    )
    expect(notices.map((n) => n.kind)).toEqual(["expired", "reminder"])
  })

  test("a refund that pulls the end in: the 1-day reminder comes for the new end", async () => {
    const notices = await run(
      Effect.gen(function* () {
        const subs = yield* Subscriptions
        const user = yield* newUser("en")
        yield* buy(user, "week", 7) // T0 .. T0+7d
        yield* subs.extend(user, "month", Duration.days(30), undefined) // T0+7d .. T0+37d
        // Refund the month by hand (no payment row needed for the period arithmetic).
        const periods = yield* periodIds(user)
        yield* Database.query((db) =>
          db
            .update(subscriptions)
            .set({ status: "refunded" })
            .where(eq(subscriptions.id, periods[1]?.id ?? 0)),
        )
        yield* at(T0 + 6 * DAY)
        yield* tick
        return yield* noticesOf(user)
      }),
    )
    expect(notices.map((n) => n.dedupeKey.replace(/\d+/, "N"))).toEqual(["reminder:N:1d"])
  })

  test("a user who blocked the bot gets no notices; the period still expires", async () => {
    const result = await run(
      Effect.gen(function* () {
        const user = yield* newUser("en")
        yield* buy(user, "week", 7)
        yield* Database.query((db) =>
          db
            .update(users)
            .set({ blockedAt: new Date(T0) })
            .where(eq(users.id, user)),
        )
        for (const day of [4, 6, 7]) {
          yield* at(T0 + day * DAY)
          yield* tick
        }
        return { notices: yield* noticesOf(user), periods: yield* periodIds(user) }
      }),
    )
    expect(result.notices).toEqual([])
    expect(result.periods.map((p) => p.status)).toEqual(["expired"])
  })
})

describe("several workers", () => {
  test("two workers ticking at the same moment queue every notice exactly once", async () => {
    const result = await run(
      Effect.gen(function* () {
        const url = yield* TestDbUrl
        // Small batches make the two workers interleave many transactions.
        const small = Layer.setConfigProvider(
          ConfigProvider.fromMap(new Map([["SUBSCRIPTIONS_BATCH_SIZE", "7"]])),
        )
        const workerOn = (component: string) =>
          Effect.gen(function* () {
            const db = yield* Database.make({ url, component, poolSize: 3 })
            return yield* Effect.provide(
              SubscriptionsWorker,
              SubscriptionsWorker.Default.pipe(
                Layer.provide(Layer.succeed(Database, db)),
                Layer.provide(small),
              ),
            )
          })
        const [a, b] = yield* Effect.all([workerOn("worker-a"), workerOn("worker-b")])
        if (a === undefined || b === undefined) return yield* Effect.die("no workers")
        // 150 users: a third end in 2 h (3-day and 1-day reminder window: 1-day reminder),
        // a third 2.5 days (3-day reminder), a third ended 1 h ago (expiry notice); every
        // fifth of them also bought a second week (no notice for the first end).
        const userIds: number[] = []
        for (let i = 0; i < 150; i++) {
          const user = yield* newUser(i % 2 === 0 ? "en" : "ru")
          userIds.push(user)
          const ends = [2 / 24, 2.5, -1 / 24][i % 3] ?? 0
          yield* at(T0 - 10 * DAY)
          yield* buy(user, "month", 10 + ends)
          if (i % 5 === 0) yield* buy(user, "week", 7)
        }
        yield* at(T0)
        const counts = []
        for (let round = 0; round < 3; round++) {
          counts.push(yield* Effect.all([a.tick, b.tick], { concurrency: 2 }))
        }
        const rows = yield* Database.query((db) =>
          db
            .select({ kind: deliveries.kind, dedupeKey: deliveries.dedupeKey })
            .from(deliveries)
            .where(inArray(deliveries.userId, userIds)),
        )
        const expiredPeriods = yield* Database.query((db) =>
          db.$count(
            subscriptions,
            and(inArray(subscriptions.userId, userIds), eq(subscriptions.status, "expired")),
          ),
        )
        return { counts, rows, expiredPeriods }
      }),
    )
    const sum = (k: "expired" | "expiryNotices" | "reminders") =>
      result.counts.flat().reduce((acc, r) => acc + r[k], 0)
    // 150 users, 30 of them extended (i % 5 === 0): 120 get a notice about their single end.
    // Of those 120: 40 get a 1-day reminder, 40 a 3-day reminder, 40 an expiry notice.
    const byKind = (kind: string, suffix: string) =>
      result.rows.filter((r) => r.kind === kind && r.dedupeKey.endsWith(suffix)).length
    expect(byKind("reminder", ":1d")).toBe(40)
    expect(byKind("reminder", ":3d")).toBe(40)
    expect(byKind("expired", "")).toBe(40)
    expect(result.rows).toHaveLength(120)
    // Every notice was counted by exactly one of the two workers.
    expect(sum("reminders")).toBe(80)
    expect(sum("expiryNotices")).toBe(40)
    // 50 periods had ended, among them 10 followed by an extension; each expired once.
    expect(result.expiredPeriods).toBe(50)
    expect(sum("expired")).toBe(50)
  })
})

describe("configuration", () => {
  const configWith = (env: Record<string, string>) =>
    Effect.runSync(
      Effect.either(
        Effect.withConfigProvider(
          SubscriptionsWorkerConfig,
          ConfigProvider.fromMap(new Map(Object.entries(env))),
        ),
      ),
    )

  test("reminder offsets default to 3 days and 1 day", () => {
    const config = configWith({})
    expect(Either.isRight(config) && config.right.reminderOffsets.map((o) => o.key)).toEqual([
      "3d",
      "1d",
    ])
  })

  test("offsets accept days, hours and minutes, in any order", () => {
    const offsets = parseReminderOffsets("12 hours, 2 days,30m, 3d, 48h")
    expect(Either.getOrThrow(offsets).map((o) => o.key)).toEqual(["3d", "2d", "12h", "30m"])
    expect(Either.getOrThrow(parseReminderOffsets(""))).toEqual([])
  })

  test.each([
    ["REMINDER_OFFSETS", "3 days, soon"],
    ["REMINDER_OFFSETS", "0 days"],
    ["TIME_ZONE", "Mars/Olympus"],
    ["SUBSCRIPTIONS_BATCH_SIZE", "0"],
  ])("a bad %s (%p) fails naming the variable", (name, value) => {
    const config = configWith({ [name]: value })
    expect(Either.isLeft(config)).toBe(true)
    if (Either.isLeft(config)) expect(String(config.left)).toContain(name)
  })

  test("dates in notices follow TIME_ZONE", async () => {
    const texts = await runtime.runPromise(
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const user = yield* newUser("en")
        const ru = yield* newUser("ru")
        yield* buy(user, "week", 7)
        yield* buy(ru, "week", 7)
        yield* TestClock.setTime(T0 + 4 * DAY)
        const worker = yield* Effect.provide(
          SubscriptionsWorker,
          SubscriptionsWorker.Default.pipe(
            Layer.provide(
              Layer.setConfigProvider(
                ConfigProvider.fromMap(new Map([["TIME_ZONE", "Asia/Dubai"]])),
              ),
            ),
          ),
        )
        yield* worker.tick
        const [notice] = yield* noticesOf(user)
        const [ruNotice] = yield* noticesOf(ru)
        return [notice?.payload?.text, ruNotice?.payload?.text]
      }).pipe(Effect.provide(TestContext.TestContext)),
    )
    // The period ends at 12:00 UTC: 16:00 in Dubai (UTC+4), named the way each language does.
    expect(texts[0]).toContain("(8 November 2026 at 16:00 GST)")
    expect(texts[1]).toContain("(8 ноября 2026 г. в 16:00 GMT+4)")
  })
})
