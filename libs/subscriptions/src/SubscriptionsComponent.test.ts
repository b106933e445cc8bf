import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { deliveries, subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { eq } from "drizzle-orm"
import {
  ConfigProvider,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Logger,
  LogLevel,
  ManagedRuntime,
  Scope,
  TestClock,
  TestContext,
} from "effect"
import { SubscriptionsComponentConfig, workerLayer } from "./SubscriptionsComponent.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const runtime = ManagedRuntime.make(
  TestDatabase.layer("subscriptions-component-test").pipe(
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  ),
)
afterAll(() => runtime.dispose())

// 10 s past a minute, so the first cron tick after the start is unambiguous.
const T0 = Date.UTC(2026, 10, 1, 12, 0, 10)

/** Waits (in real time, briefly) until `check` holds; the TestClock does not move meanwhile. */
const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 5_000
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.promise(() => Bun.sleep(5))
    }
  })

/** The worker fiber has finished its tick and waits for the next cron time. */
const sleeping = eventually(
  Effect.map(TestClock.sleeps(), (s) => (s.length > 0 ? s : undefined)),
  "the worker to sleep until its next tick",
)

test("the component ticks at start and then every minute of the Clock, and stops with its scope", async () => {
  const result = await runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      yield* Database.query((db) => db.insert(users).values({ id: 7, chatId: 7 }))
      yield* Database.query((db) =>
        db.insert(subscriptions).values({
          userId: 7,
          plan: "grant",
          // An hour-long grant ending at 12:00:30: too short for any reminder.
          startsAt: new Date(T0 - 3_600_000 + 20_000),
          endsAt: new Date(T0 + 20_000),
          createdAt: new Date(T0 - 3_600_000 + 20_000),
        }),
      )
      const notices = Database.query((db) =>
        db.select().from(deliveries).where(eq(deliveries.userId, 7)),
      )
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(workerLayer, scope)
      yield* sleeping
      const afterStart = yield* notices
      // 12:01:00, the next minute: the period has ended.
      yield* TestClock.adjust(Duration.seconds(50))
      const queued = yield* eventually(
        Effect.map(notices, (rows) => (rows.length > 0 ? rows : undefined)),
        "the expiry notice",
      )
      yield* sleeping
      yield* Scope.close(scope, Exit.void)
      const [period] = yield* Database.query((db) =>
        db.select().from(subscriptions).where(eq(subscriptions.userId, 7)),
      )
      return { afterStart, queued, period }
    }).pipe(Effect.provide(TestContext.TestContext)),
  )
  expect(result.afterStart).toEqual([])
  expect(result.queued.map((d) => [d.kind, d.dedupeKey])).toEqual([
    ["expired", `expired:${result.period?.id}`],
  ])
  expect(result.period?.status).toBe("expired")
})

test.each([
  ["SUBSCRIPTIONS_CRON", "every minute"],
  ["REMINDER_OFFSETS", "soon"],
  ["PLAN_MONTH_STARS", "free"],
  ["TRIAL_DURATION", "a while"],
  ["TRIAL_DURATION", "0 seconds"],
  ["PLAN_DAY_DAYS", "0"],
])("the component's config names a bad %s (%p), for the runner to report", async (name, value) => {
  const exit = await Effect.runPromise(
    Effect.either(
      Effect.withConfigProvider(
        SubscriptionsComponentConfig,
        ConfigProvider.fromMap(new Map([[name, value]])),
      ),
    ),
  )
  expect(Either.isLeft(exit) && String(exit.left)).toContain(name)
})

test("the defaults are a valid configuration", async () => {
  const exit = await Effect.runPromise(
    Effect.either(
      Effect.withConfigProvider(SubscriptionsComponentConfig, ConfigProvider.fromMap(new Map())),
    ),
  )
  expect(Either.isRight(exit)).toBe(true)
})
