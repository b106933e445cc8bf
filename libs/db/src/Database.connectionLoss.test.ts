/**
 * The server ends our connections (pg_terminate_backend: a failover, a restart, an admin):
 * every statement cut off fails with a `Connection` error, none waits forever, the process
 * survives, and the pool serves the next statement on a new connection.
 *
 * These pin the fixes in `patches/postgres@3.4.9.patch` (postgres.js on Bun): a reserved
 * connection (our transactions, the parser's source lock) whose backend was terminated used to
 * throw an uncatchable TypeError in `nextWrite` (porsager/postgres#1208), which killed the
 * component's worker; queries written after a reset, or a reserve request queued while its
 * connection was lost, used to wait forever.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Context, Effect, Either, Layer, ManagedRuntime, Redacted } from "effect"
import postgres from "postgres"
import { Database, type DatabaseError } from "./Database.ts"
import * as TestDatabase from "./TestDatabase.ts"

setDefaultTimeout(60_000)

const COMPONENT = "conn-loss-test"

class TestDb extends Context.Tag("TestDb")<TestDb, TestDatabase.TestDatabaseInstance>() {}
const testDb = Layer.scoped(TestDb, TestDatabase.make)
const database = Layer.scoped(
  Database,
  Effect.flatMap(TestDb, (db) => Database.make({ url: db.url, component: COMPONENT, poolSize: 4 })),
)
const runtime = ManagedRuntime.make(database.pipe(Layer.provideMerge(testDb)))
let killer: postgres.Sql

beforeAll(async () => {
  const db = await runtime.runPromise(TestDb)
  killer = postgres(Redacted.value(db.url), { max: 1, onnotice: () => {} })
})
afterAll(async () => {
  await killer?.end({ timeout: 5 })
  await runtime.dispose()
})

/** Terminates every backend of the pool under test (only on this test's database). */
const terminateAll = () =>
  killer`select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and application_name = ${`flatwatch-${COMPONENT}`}`

const backendPid = Database.sql((sql) => sql<{ pid: number }[]>`select pg_backend_pid() as pid`)

const reason = (result: Either.Either<unknown, DatabaseError>) =>
  Either.isLeft(result) ? result.left.reason : "ok"

test("a transaction whose backend is terminated while idle fails with a Connection error; the pool carries on", async () => {
  const result = await runtime.runPromise(
    Database.transaction(
      Effect.gen(function* () {
        const [me] = yield* backendPid
        yield* Effect.promise(() => killer`select pg_terminate_backend(${me?.pid ?? 0})`)
        // The server has closed it: the next statement must fail, not take the process down.
        yield* Effect.promise(() => Bun.sleep(100))
        return yield* Database.sql((sql) => sql`select 1`)
      }),
    ).pipe(Effect.either),
  )
  expect(reason(result)).toBe("Connection")
  const after = await runtime.runPromise(Database.sql((sql) => sql<{ n: number }[]>`select 2 as n`))
  expect(after[0]?.n).toBe(2)
})

test("terminated again and again under load: every statement settles, nothing hangs, then all works", async () => {
  let stop = false
  const outcomes = { ok: 0, connection: 0, other: 0 }
  const count = (r: Either.Either<unknown, DatabaseError>) => {
    if (Either.isRight(r)) outcomes.ok++
    else if (r.left.reason === "Connection") outcomes.connection++
    else outcomes.other++
  }
  const worker = async () => {
    while (!stop) {
      count(
        await runtime.runPromise(
          Database.sql((sql) => sql`select pg_sleep(0.002)`).pipe(Effect.either),
        ),
      )
      // A transaction holds a reserved connection across statements, idle in between.
      count(
        await runtime.runPromise(
          Database.transaction(
            Effect.gen(function* () {
              yield* Database.sql((sql) => sql`select 1`)
              yield* Effect.promise(() => Bun.sleep(3))
              yield* Database.sql((sql) => sql`select 2`)
            }),
          ).pipe(Effect.either),
        ),
      )
    }
  }
  const workers = Array.from({ length: 4 }, worker)
  for (let i = 0; i < 25; i++) {
    await Bun.sleep(20 + Math.random() * 80)
    await terminateAll()
  }
  stop = true
  // Each worker's statement in flight settles (fails or succeeds) instead of waiting forever.
  const settled = await Promise.race([
    Promise.all(workers).then(() => true),
    Bun.sleep(40_000).then(() => false),
  ])
  expect(settled).toBe(true)
  expect(outcomes.connection).toBeGreaterThan(0)
  expect(outcomes.other).toBe(0)
  const after = await runtime.runPromise(
    Effect.all([
      Database.sql((sql) => sql<{ n: number }[]>`select 3 as n`),
      Database.transaction(Database.sql((sql) => sql<{ n: number }[]>`select 4 as n`)),
    ]),
  )
  expect(after.map((rows) => rows[0]?.n)).toEqual([3, 4])
})
