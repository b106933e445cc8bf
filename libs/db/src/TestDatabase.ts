import { Config, Effect, Layer, Redacted, type Scope } from "effect"
import postgres from "postgres"
import { Database, DatabaseError, toDatabaseError } from "./Database.ts"
import { migrate } from "./Migrations.ts"

export interface TestDatabaseInstance {
  /** URL of the fresh, migrated database. */
  readonly url: Redacted.Redacted<string>
  readonly name: string
}

/**
 * For tests: a fresh database, fully migrated, on the server named by `TEST_DATABASE_URL`; it is
 * dropped (with its connections) when the scope closes. Each test file takes its own, so files
 * never see each other's rows.
 */
export const make: Effect.Effect<TestDatabaseInstance, DatabaseError, Scope.Scope> = Effect.gen(
  function* () {
    const serverUrl = yield* Config.redacted("TEST_DATABASE_URL").pipe(
      Effect.mapError(
        (e) =>
          new DatabaseError({
            reason: "Unreachable",
            message: `TEST_DATABASE_URL is not set (${e.message}); run tests with \`bun test\`, whose preload starts an embedded PostgreSQL`,
          }),
      ),
    )
    const name = `fw_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    const admin = (f: (sql: postgres.Sql) => Promise<unknown>) =>
      Effect.tryPromise({
        try: async () => {
          const sql = postgres(Redacted.value(serverUrl), { max: 1, onnotice: () => {} })
          try {
            await f(sql)
          } finally {
            await sql.end({ timeout: 5 })
          }
        },
        catch: toDatabaseError,
      })
    yield* Effect.acquireRelease(
      admin((sql) => sql.unsafe(`create database "${name}"`)),
      () =>
        admin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`)).pipe(
          Effect.orDie,
        ),
    )
    const url = new URL(Redacted.value(serverUrl))
    url.pathname = `/${name}`
    const redacted = Redacted.make(url.toString())
    yield* migrate(redacted)
    return { url: redacted, name }
  },
)

/** A `Database` for tests, on a fresh migrated database that is dropped afterwards. */
export const layer = (component = "test"): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.flatMap(make, (db) => Database.make({ url: db.url, component, poolSize: 4 })),
  )
