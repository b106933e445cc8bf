/**
 * A statement that cannot be built or serialised (an `undefined` parameter, a JSON value whose
 * serialisation throws, too many parameters) fails alone: its caller gets its own error, every
 * other caller sharing the connection's pipeline gets exactly its own rows, no transaction is
 * left open, and the pool keeps answering.
 *
 * These pin the fix in `patches/postgres@3.4.9.patch`: postgres.js queued such a query in the
 * connection's pipeline before building it, then rejected the query ahead of it with the error
 * and left itself queued, so that every later caller on that connection got the rows of the
 * caller after it, the last one waited forever, and transactions stayed `idle in transaction`.
 * A pool of one connection makes every statement share one pipeline.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { eq } from "drizzle-orm"
import { Context, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import postgres from "postgres"
import { Database, type DatabaseError } from "./Database.ts"
import { users } from "./schema.ts"
import * as TestDatabase from "./TestDatabase.ts"

setDefaultTimeout(30_000)

const COMPONENT = "pipeline-test"

class TestDb extends Context.Tag("TestDb")<TestDb, TestDatabase.TestDatabaseInstance>() {}
const testDb = Layer.scoped(TestDb, TestDatabase.make)
const database = Layer.scoped(
  Database,
  Effect.flatMap(TestDb, (db) => Database.make({ url: db.url, component: COMPONENT, poolSize: 1 })),
)
const runtime = ManagedRuntime.make(database.pipe(Layer.provideMerge(testDb)))
/** The pool under test: one connection, so every statement is pipelined on it. */
let pool: postgres.Sql
/** A separate connection that looks at the server's side. */
let observer: postgres.Sql

beforeAll(async () => {
  const db = await runtime.runPromise(TestDb)
  const url = Redacted.value(db.url)
  pool = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: "pipeline-raw" },
  })
  observer = postgres(url, { max: 1, onnotice: () => {} })
  await observer`create table pipeline_probe (caller int not null)`
})
afterAll(async () => {
  await pool?.end({ timeout: 5 })
  await observer?.end({ timeout: 5 })
  await runtime.dispose()
})

type Outcome = { readonly rows: unknown } | { readonly error: string } | "still waiting"

/** Not a timing assertion: a query the driver lost never settles, and the test must say so. */
const unlessLost = <A>(settles: Promise<A>): Promise<A | "still waiting"> =>
  Promise.race([settles, Bun.sleep(4_000).then(() => "still waiting" as const)])

const errorOf = (e: unknown): { readonly error: string } => {
  const code = (e as { code?: unknown }).code
  return { error: typeof code === "string" ? code : String((e as Error).message) }
}

/** What the caller saw: its rows or its error (the driver's code, else the message). */
const outcome = (query: PromiseLike<unknown>): Promise<Outcome> =>
  unlessLost(Promise.resolve(query).then((rows) => ({ rows }), errorOf))

/** The same for an effect on the Database under test (its error's `cause` is the driver's). */
const outcomeOf = (effect: Effect.Effect<unknown, DatabaseError, Database>): Promise<Outcome> =>
  unlessLost(
    runtime.runPromise(
      Effect.match(effect, { onFailure: (e) => errorOf(e.cause), onSuccess: (rows) => ({ rows }) }),
    ),
  )

const firstI = (rows: unknown) => (rows as { i: number }[])[0]?.i

/** Connections of this test's database left inside a transaction. */
const idleInTransaction = async (): Promise<string[]> => {
  const rows = await observer<{ application_name: string }[]>`
    select application_name from pg_stat_activity
    where datname = current_database() and state like 'idle in transaction%'`
  return rows.map((r) => r.application_name)
}

/** A value whose JSON serialisation throws an error naming its caller. */
const unserialisable = (caller: number) =>
  ({
    toJSON: () => {
      throw new Error(`caller ${caller} cannot be serialised`)
    },
  }) as unknown as postgres.JSONValue

const cyclic = (): postgres.JSONValue => {
  const node: { self?: unknown } = {}
  node.self = node
  return node as postgres.JSONValue
}

interface Caller {
  readonly run: () => PromiseLike<unknown>
  /** The caller's rows mapped to what it should see (`i` of the first row), or its error. */
  readonly expected: Outcome
}

/**
 * Callers of every kind, interleaved: valid ones select their own number; failing ones cannot be
 * built (undefined), cannot be serialised (a throwing toJSON, a cycle, a BigInt inside JSON, too
 * many parameters), or fail on the server (division by zero, the control case).
 */
const callers = (sql: postgres.Sql, offset: number): Caller[] =>
  Array.from({ length: 48 }, (_, n): Caller => {
    const i = offset + n
    const valid: Caller = {
      run: () => sql`select ${i}::int as i`.then(firstI),
      expected: { rows: i },
    }
    switch (n % 8) {
      case 1:
        return {
          run: () => sql`select ${undefined as unknown as number}::int as i`,
          expected: { error: "UNDEFINED_VALUE" },
        }
      case 3:
        return {
          run: () => sql`select ${sql.json(unserialisable(i))} as j`,
          expected: { error: `caller ${i} cannot be serialised` },
        }
      case 5:
        return n % 16 === 5
          ? {
              run: () => sql`select ${sql.json(cyclic())} as j`,
              expected: { error: "cyclic" },
            }
          : {
              run: () => sql`select ${sql.json({ big: 1n } as unknown as postgres.JSONValue)} as j`,
              expected: { error: "BigInt" },
            }
      case 6:
        return n % 24 === 6
          ? {
              run: () => sql`select ${i}::int / 0 as i`,
              expected: { error: "22012" },
            }
          : {
              run: () =>
                sql.unsafe(
                  "select 1",
                  Array.from({ length: 65_534 }, () => 0),
                ),
              expected: { error: "MAX_PARAMETERS_EXCEEDED" },
            }
      default:
        return valid
    }
  })

/** The JS engine's own wording for cycles and BigInts differs; the caller-specific part is kept. */
const normalise = (o: Outcome): Outcome =>
  typeof o === "object" && "error" in o
    ? /cyclic|circular/i.test(o.error)
      ? { error: "cyclic" }
      : /BigInt/i.test(o.error)
        ? { error: "BigInt" }
        : o
    : o

const runAll = async (list: Caller[]) =>
  (await Promise.all(list.map((c) => outcome(c.run())))).map(normalise)

test("pipelined on one connection, each caller gets its own rows or its own error", async () => {
  // Twice: the first round prepares the statements (the driver then sends each one alone), the
  // second sends the prepared ones back to back in one pipeline.
  for (const offset of [0, 1000]) {
    const list = callers(pool, offset)
    expect({
      callers: await runAll(list),
      idleInTransaction: await idleInTransaction(),
      after: await outcome(pool`select 'still answering' as s`),
    }).toEqual({
      callers: list.map((c) => c.expected),
      idleInTransaction: [],
      after: { rows: [{ s: "still answering" }] },
    })
  }
})

test("a statement that cannot be built inside a transaction rolls that transaction back alone", async () => {
  const transaction = (caller: number) =>
    pool.begin(async (tx) => {
      await tx`insert into pipeline_probe (caller) values (${caller})`
      // Pipelined on the transaction's connection: the failing statement between two valid ones.
      const [a, , b] = await Promise.all([
        tx`select ${caller}::int as i`.then(firstI),
        caller % 2 === 1
          ? tx`select ${undefined as unknown as number}::int as i`
          : tx`select ${caller + 500}::int as i`,
        tx`select ${caller + 1000}::int as i`.then(firstI),
      ])
      return [a, b]
    })
  const list = Array.from({ length: 10 }, (_, caller) => caller)
  const seen = await Promise.all(list.map((caller) => outcome(transaction(caller))))
  const committed = await observer<{ caller: number }[]>`
    select caller from pipeline_probe order by caller`
  expect({
    transactions: seen,
    committed: committed.map((r) => r.caller),
    idleInTransaction: await idleInTransaction(),
    after: await outcome(pool`select 'still answering' as s`),
  }).toEqual({
    transactions: list.map((caller) =>
      caller % 2 === 1 ? { error: "UNDEFINED_VALUE" } : { rows: [caller, caller + 1000] },
    ),
    // The failed transactions' inserts were rolled back; the others' committed.
    committed: [0, 2, 4, 6, 8],
    idleInTransaction: [],
    after: { rows: [{ s: "still answering" }] },
  })
})

test("Database: failing statements among concurrent ones, in and out of transactions", async () => {
  const selectI = (i: number) =>
    Database.sql((sql) => sql<{ i: number }[]>`select ${i}::int as i`).pipe(
      Effect.map((rows) => rows[0]?.i),
    )
  // Drizzle passes the undefined on to postgres.js, as a handler that read a missing field would.
  const undefinedParam = Database.query((db) =>
    db
      .select()
      .from(users)
      .where(eq(users.id, undefined as unknown as number)),
  )
  const effects = Array.from(
    { length: 30 },
    (_, i): Effect.Effect<unknown, DatabaseError, Database> => {
      switch (i % 5) {
        case 1:
          return undefinedParam
        case 3:
          // A transaction whose statements run concurrently, one of them failing.
          return Database.transaction(
            Effect.all([selectI(i), undefinedParam, selectI(i + 1000)], {
              concurrency: "unbounded",
            }),
          )
        case 4:
          return Database.transaction(
            Effect.all([selectI(i), selectI(i + 1000)], { concurrency: "unbounded" }),
          )
        default:
          return selectI(i)
      }
    },
  )
  const seen = await Promise.all(effects.map((effect) => outcomeOf(effect)))
  expect({
    callers: seen,
    idleInTransaction: await idleInTransaction(),
    after: await outcomeOf(selectI(7)),
  }).toEqual({
    callers: Array.from({ length: 30 }, (_, i) => {
      switch (i % 5) {
        case 1:
        case 3:
          return { error: "UNDEFINED_VALUE" }
        case 4:
          return { rows: [i, i + 1000] }
        default:
          return { rows: i }
      }
    }),
    idleInTransaction: [],
    after: { rows: 7 },
  })
})
