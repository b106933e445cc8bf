import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { eq } from "drizzle-orm"
import { Cause, Data, Effect, Either, Exit, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { Database, DatabaseError } from "./Database.ts"
import { migrate } from "./Migrations.ts"
import { deliveries, filters, listings, payments, users } from "./schema.ts"
import * as TestDatabase from "./TestDatabase.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const runtime = ManagedRuntime.make(TestDatabase.layer("db-test"))
const run = <A, E>(effect: Effect.Effect<A, E, Database>) => runtime.runPromise(effect)
const attempt = <A, E>(effect: Effect.Effect<A, E, Database>) =>
  runtime.runPromise(Effect.either(effect))

beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

class Boom extends Data.TaggedError("Boom")<{}> {}

const countUsers = Database.query((db) => db.$count(users))
const insertUser = (id: number) =>
  Database.query((db) => db.insert(users).values({ id, chatId: id, language: "en" }))

describe("schema and migrations", () => {
  test("migrations applied: every table exists", async () => {
    const tables = await run(
      Database.sql(
        (sql) =>
          sql<{ table_name: string }[]>`select table_name from information_schema.tables
            where table_schema = 'public' order by table_name`,
      ),
    )
    expect(tables.map((t) => t.table_name)).toEqual([
      "bot_sessions",
      "browser_sessions",
      "deliveries",
      "filters",
      "listing_prices",
      "listings",
      "payments",
      "source_runs",
      "source_state",
      "subscriptions",
      "trial_claims",
      "users",
    ])
  })

  test("migrating again applies nothing", async () => {
    const result = await runtime.runPromise(
      Effect.flatMap(Database, (db) => migrate(Redacted.make(urlOf(db)))),
    )
    expect(result.applied).toBe(0)
  })

  test("UNIQUE(source, external_id) rejects a duplicate listing", async () => {
    const listing = {
      source: "bayut",
      externalId: "42",
      market: "dubai",
      url: "https://example.test/42",
      title: "Flat",
      price: 1000,
      priceOriginal: 1000,
      currency: "AED",
    }
    await run(Database.query((db) => db.insert(listings).values(listing)))
    const dup = await attempt(Database.query((db) => db.insert(listings).values(listing)))
    expect(Either.isLeft(dup)).toBe(true)
    if (Either.isLeft(dup)) {
      expect(dup.left.reason).toBe("Query")
      expect(dup.left.code).toBe("23505")
    }
  })

  test("UNIQUE dedupe_key and telegram_payment_charge_id reject duplicates", async () => {
    await run(insertUser(1001))
    const delivery = { userId: 1001, chatId: 1001, kind: "listing" as const, dedupeKey: "k1" }
    await run(Database.query((db) => db.insert(deliveries).values(delivery)))
    const dupDelivery = await attempt(
      Database.query((db) => db.insert(deliveries).values(delivery)),
    )
    expect(Either.isLeft(dupDelivery) && dupDelivery.left.code).toBe("23505")

    const payment = (payload: string) => ({
      userId: 1001,
      plan: "week" as const,
      amount: 50,
      invoicePayload: payload,
      expiresAt: new Date(Date.now() + 60_000),
      telegramPaymentChargeId: "charge-1",
    })
    await run(Database.query((db) => db.insert(payments).values(payment("p1"))))
    const dupPayment = await attempt(
      Database.query((db) => db.insert(payments).values(payment("p2"))),
    )
    expect(Either.isLeft(dupPayment) && dupPayment.left.code).toBe("23505")
  })

  test("typed filter columns, and checks reject nonsense", async () => {
    await run(insertUser(1002))
    const [row] = await run(
      Database.query((db) =>
        db
          .insert(filters)
          .values({
            userId: 1002,
            name: "Marina",
            market: "dubai",
            districtGroups: ["Dubai Marina", "JBR"],
            rooms: [0, 1, 5],
            rentPeriods: ["monthly", "yearly"],
            priceMax: 9000,
            furnishing: "furnished",
          })
          .returning(),
      ),
    )
    expect(row?.districtGroups).toEqual(["Dubai Marina", "JBR"])
    expect(row?.rooms).toEqual([0, 1, 5])
    expect(row?.rentPeriods).toEqual(["monthly", "yearly"])
    const bad = await attempt(
      Database.query((db) =>
        db
          .insert(filters)
          .values({ userId: 1002, name: "x", market: "dubai", priceMin: 10, priceMax: 5 }),
      ),
    )
    expect(Either.isLeft(bad) && bad.left.code).toBe("23514")
    const badRooms = await attempt(
      Database.query((db) =>
        db.insert(filters).values({ userId: 1002, name: "x", market: "dubai", rooms: [7] }),
      ),
    )
    expect(Either.isLeft(badRooms) && badRooms.left.code).toBe("23514")
  })

  test("deleting a user removes their filters, subscriptions and deliveries, keeps payments", async () => {
    await run(insertUser(1003))
    await run(
      Effect.all([
        Database.query((db) =>
          db.insert(filters).values({ userId: 1003, name: "a", market: "dubai" }),
        ),
        Database.query((db) =>
          db
            .insert(deliveries)
            .values({ userId: 1003, chatId: 1003, kind: "reminder", dedupeKey: "d1003" }),
        ),
        Database.query((db) =>
          db.insert(payments).values({
            userId: 1003,
            plan: "day",
            amount: 20,
            invoicePayload: "p1003",
            expiresAt: new Date(),
          }),
        ),
      ]),
    )
    await run(Database.query((db) => db.delete(users).where(eq(users.id, 1003))))
    const left = await run(
      Database.sql(
        (sql) => sql<{ f: number; d: number; p: number; pu: number }[]>`select
          (select count(*)::int from filters where user_id = 1003) as f,
          (select count(*)::int from deliveries where user_id = 1003) as d,
          (select count(*)::int from payments where invoice_payload = 'p1003') as p,
          (select count(*)::int from payments where user_id = 1003) as pu`,
      ),
    )
    expect(left[0]).toEqual({ f: 0, d: 0, p: 1, pu: 0 })
  })
})

describe("transactions", () => {
  test("a failure inside rolls back every write", async () => {
    const before = await run(countUsers)
    const result = await attempt(
      Database.transaction(
        Effect.gen(function* () {
          yield* insertUser(2001)
          yield* insertUser(2002)
          return yield* new Boom()
        }),
      ),
    )
    expect(Either.isLeft(result) && result.left._tag).toBe("Boom")
    expect(await run(countUsers)).toBe(before)
  })

  test("repository functions see the transaction's uncommitted writes, others do not", async () => {
    const seen = await run(
      Database.transaction(
        Effect.gen(function* () {
          yield* insertUser(2003)
          const inside = yield* Database.query((db) => db.$count(users, eq(users.id, 2003)))
          // A query on the pool directly (another connection) must not see the uncommitted row.
          const outside = yield* Effect.flatMap(Database, (d) =>
            Effect.promise(() => d.db.$count(users, eq(users.id, 2003))),
          )
          return { inside, outside }
        }),
      ),
    )
    expect(seen).toEqual({ inside: 1, outside: 0 })
    expect(await run(Database.query((db) => db.$count(users, eq(users.id, 2003))))).toBe(1)
  })

  test("a defect or interruption also rolls back", async () => {
    const before = await run(countUsers)
    const exit = await runtime.runPromiseExit(
      Database.transaction(Effect.zipRight(insertUser(2004), Effect.die("bug"))),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const interrupted = await runtime.runPromiseExit(
      Database.transaction(Effect.zipRight(insertUser(2005), Effect.interrupt)),
    )
    expect(Exit.isInterrupted(interrupted)).toBe(true)
    expect(await run(countUsers)).toBe(before)
  })

  test("nested: inner failure recovered by the outer rolls back only the inner writes", async () => {
    await run(
      Database.transaction(
        Effect.gen(function* () {
          yield* insertUser(2006)
          yield* Database.transaction(Effect.zipRight(insertUser(2007), new Boom())).pipe(
            Effect.catchTag("Boom", () => Effect.void),
          )
          yield* Database.transaction(insertUser(2008))
        }),
      ),
    )
    const ids = await run(
      Database.sql(
        (sql) =>
          sql<{ id: string }[]>`select id from users where id between 2006 and 2008 order by id`,
      ),
    )
    expect(ids.map((r) => Number(r.id))).toEqual([2006, 2008])
  })

  test("nested: an outer failure rolls back the committed inner savepoint too", async () => {
    const before = await run(countUsers)
    await attempt(
      Database.transaction(
        Effect.gen(function* () {
          yield* Database.transaction(insertUser(2009))
          return yield* new Boom()
        }),
      ),
    )
    expect(await run(countUsers)).toBe(before)
  })

  test("a constraint violation inside fails with DatabaseError and rolls back", async () => {
    const before = await run(countUsers)
    const result = await attempt(
      Database.transaction(Effect.zipRight(insertUser(2010), insertUser(2010))),
    )
    expect(Either.isLeft(result) && result.left instanceof DatabaseError).toBe(true)
    expect(await run(countUsers)).toBe(before)
  })
})

describe("connection", () => {
  test("pool connections carry application_name flatwatch-<component>", async () => {
    const names = await run(
      Database.sql(
        (sql) =>
          sql<{ application_name: string }[]>`select application_name from pg_stat_activity
            where datname = current_database() and pid = pg_backend_pid()`,
      ),
    )
    expect(names[0]?.application_name).toBe("flatwatch-db-test")
  })

  test("a query survives its connection being killed (pg_terminate_backend)", async () => {
    const result = await run(
      Effect.gen(function* () {
        const database = yield* Database
        // Kill every connection of this pool from a separate connection.
        yield* Effect.promise(async () => {
          const admin = (await import("postgres")).default(urlOf(database), { max: 1 })
          await admin`select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'flatwatch-db-test' and pid <> pg_backend_pid()`
          await admin.end()
        })
        return yield* Database.query((db) => db.$count(users))
      }),
    )
    expect(result).toBeGreaterThanOrEqual(0)
  })

  test("an unreachable database fails start-up with a clear error", async () => {
    const exit = await Effect.runPromiseExit(
      Layer.build(
        Database.layer({
          url: Redacted.make("postgres://postgres@127.0.0.1:1/nothing"),
          component: "x",
          connectTimeout: "500 millis",
        }),
      ).pipe(Effect.scoped),
    )
    const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    expect(Option.getOrThrow(error).reason).toBe("Unreachable")
    expect(Option.getOrThrow(error).message).toContain(
      "cannot connect to PostgreSQL at 127.0.0.1:1/nothing",
    )
  })
})

function urlOf(db: {
  sql: { options: { host: string[]; port: number[]; user: string; database: string } }
}) {
  const o = db.sql.options
  return `postgres://${o.user}@${o.host[0]}:${o.port[0]}/${o.database}`
}
