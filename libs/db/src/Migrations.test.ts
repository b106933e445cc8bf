import { expect, setDefaultTimeout, test } from "bun:test"
import { Config, Effect, Redacted } from "effect"
import postgres from "postgres"
import { migrate } from "./Migrations.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

/** An empty database (no migrations), dropped afterwards. */
const withEmptyDatabase = <A>(use: (url: Redacted.Redacted<string>) => Promise<A>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const server = yield* Config.string("TEST_DATABASE_URL")
      const name = `fw_mig_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
      const admin = postgres(server, { max: 1, onnotice: () => {} })
      yield* Effect.promise(() => admin.unsafe(`create database "${name}"`))
      const url = new URL(server)
      url.pathname = `/${name}`
      return yield* Effect.promise(() => use(Redacted.make(url.toString()))).pipe(
        Effect.ensuring(
          Effect.promise(async () => {
            await admin.unsafe(`drop database "${name}" with (force)`)
            await admin.end()
          }),
        ),
      )
    }),
  )

test("three runners migrating one empty database at once: each migration applied exactly once", async () => {
  const results = await withEmptyDatabase(async (url) => {
    const runs = await Effect.runPromise(
      Effect.all([migrate(url), migrate(url), migrate(url)], { concurrency: "unbounded" }),
    )
    const sql = postgres(Redacted.value(url), { max: 1 })
    const [row] = await sql<
      { n: number }[]
    >`select count(*)::int as n from drizzle.__drizzle_migrations`
    const tables = await sql`select 1 from information_schema.tables where table_schema = 'public'`
    await sql.end()
    return { applied: runs.map((r) => r.applied), recorded: row?.n, tables: tables.length }
  })
  // One runner applied everything; the others waited on the advisory lock and found nothing to do.
  expect(results.applied.toSorted()).toEqual([0, 0, results.recorded ?? -1])
  expect(results.recorded).toBeGreaterThanOrEqual(1)
  expect(results.tables).toBe(12)
})

test("a second start applies nothing", async () => {
  const applied = await withEmptyDatabase(async (url) => {
    await Effect.runPromise(migrate(url))
    return (await Effect.runPromise(migrate(url))).applied
  })
  expect(applied).toBe(0)
})
