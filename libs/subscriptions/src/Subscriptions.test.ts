import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { enqueue } from "@flatwatch/telegram/Outbox"
import { eq } from "drizzle-orm"
import {
  Deferred,
  Duration,
  Effect,
  Fiber,
  Layer,
  ManagedRuntime,
  TestClock,
  TestContext,
} from "effect"
import { Subscriptions } from "./Subscriptions.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const runtime = ManagedRuntime.make(
  Subscriptions.Default.pipe(Layer.provideMerge(TestDatabase.layer("subscriptions-test"))),
)
afterAll(() => runtime.dispose())

const DAY = Duration.toMillis(Duration.days(1))
const T0 = Date.UTC(2026, 10, 1)

/** Runs with a TestClock set to `T0` (time only moves when the test says so). */
const run = <A, E>(effect: Effect.Effect<A, E, Subscriptions | Database>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      return yield* effect
    }).pipe(Effect.provide(TestContext.TestContext)),
  )

const newUser = (id: number) =>
  Database.query((db) => db.insert(users).values({ id, chatId: id }).onConflictDoNothing())

test("the trial is given once, and never again after the account is deleted", async () => {
  const result = await run(
    Effect.gen(function* () {
      const subs = yield* Subscriptions
      yield* newUser(1)
      const first = yield* subs.startTrial(1)
      const second = yield* subs.startTrial(1)
      const status = yield* subs.status(1)
      // /deleteme removes the user row (cascading to subscriptions); they come back.
      yield* Database.query((db) => db.delete(users).where(eq(users.id, 1)))
      yield* newUser(1)
      const afterDelete = yield* subs.startTrial(1)
      const statusAfter = yield* subs.status(1)
      return { first, second, status, afterDelete, statusAfter }
    }),
  )
  expect(result.first).toEqual({ granted: true, endsAt: new Date(T0 + DAY) })
  expect(result.second.granted).toBe(false)
  expect(result.status).toEqual({
    hasAccess: true,
    plan: "trial",
    endsAt: new Date(T0 + DAY),
    trialUsed: true,
  })
  expect(result.afterDelete.granted).toBe(false)
  expect(result.statusAfter).toMatchObject({ hasAccess: false, trialUsed: true })
})

test("a grant extends from the later of now and the current end; access ends at the end", async () => {
  const result = await run(
    Effect.gen(function* () {
      const subs = yield* Subscriptions
      yield* newUser(2)
      yield* subs.startTrial(2)
      const endAfterGrant = yield* subs.grant(2, 7) // trial ends T0+1d → T0+8d
      // Still in the trial, but what the user has is the grant that follows it.
      const duringTrial = yield* subs.status(2)
      yield* TestClock.adjust(Duration.days(9))
      const expired = yield* subs.status(2)
      const endAfterLateGrant = yield* subs.grant(2, 1) // after expiry: from now
      return { endAfterGrant, duringTrial, expired, endAfterLateGrant }
    }),
  )
  expect(result.endAfterGrant).toEqual(new Date(T0 + 8 * DAY))
  expect(result.duringTrial).toEqual({
    hasAccess: true,
    plan: "grant",
    endsAt: new Date(T0 + 8 * DAY),
    trialUsed: true,
  })
  expect(result.expired).toEqual({
    hasAccess: false,
    plan: null,
    endsAt: new Date(T0 + 8 * DAY),
    trialUsed: true,
  })
  expect(result.endAfterLateGrant).toEqual(new Date(T0 + 10 * DAY))
})

test("two extensions of one user at the same moment both count, even with no period yet", async () => {
  const ends = await run(
    Effect.gen(function* () {
      const subs = yield* Subscriptions
      yield* newUser(3)
      return yield* Effect.all([subs.grant(3, 1), subs.grant(3, 2)], { concurrency: 2 })
    }),
  )
  // One of them starts now, the other at its end: 3 days in all, whichever came first.
  const [first, last] = ends.map((d) => d.getTime()).sort((a, b) => a - b)
  expect(last).toBe(T0 + 3 * DAY)
  expect([T0 + DAY, T0 + 2 * DAY]).toContain(first ?? 0)
})

test("an extension waits for a worker that holds the user's period and queues a notice: no deadlock", async () => {
  const end = await run(
    Effect.gen(function* () {
      const subs = yield* Subscriptions
      yield* newUser(4)
      yield* subs.grant(4, 1)
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // What a worker tick does: lock the period's row, then queue a notice for its user.
      const worker = yield* Database.transaction(
        Effect.gen(function* () {
          yield* Database.sql(
            (sql) => sql`select id from subscriptions where user_id = 4 for update`,
          )
          yield* Deferred.succeed(holding, undefined)
          yield* Deferred.await(release)
          yield* enqueue([
            {
              userId: 4,
              chatId: 4,
              kind: "reminder",
              dedupeKey: "reminder:x:1d",
              payload: { text: "x" },
            },
          ])
        }),
      ).pipe(Effect.fork)
      yield* Deferred.await(holding)
      const extension = yield* Effect.fork(subs.grant(4, 1))
      // Once the extension is waiting for the period's row lock, the worker goes on.
      const waiting = Database.sql(
        (sql) => sql<Array<{ n: number }>>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
      )
      while ((yield* waiting)[0]?.n !== 1) yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(worker)
      return yield* Fiber.join(extension)
    }),
  )
  expect(end).toEqual(new Date(T0 + 2 * DAY))
})
