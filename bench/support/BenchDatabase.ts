/**
 * A fresh, migrated database for one benchmark, dropped afterwards: on the server named by
 * TEST_DATABASE_URL, or else on an embedded PostgreSQL started for the benchmark (in a temporary
 * directory, stopped and removed at the end).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Database } from "@flatwatch/db/Database"
import { start } from "@flatwatch/db/EmbeddedPostgres"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Config, ConfigProvider, Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"

const serverUrl = Effect.gen(function* () {
  const configured = yield* Config.option(Config.redacted("TEST_DATABASE_URL"))
  if (Option.isSome(configured)) return configured.value
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const d = mkdtempSync(join(tmpdir(), "flatwatch-bench-pg-"))
      chmodSync(d, 0o755) // the unprivileged PostgreSQL user must reach it
      return d
    }),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true })),
  )
  const pg = yield* start({ dataDir: join(dir, "data"), database: "postgres" }).pipe(
    Logger.withMinimumLogLevel(LogLevel.Warning),
  )
  return pg.adminUrl
})

export const layer = (component: string, poolSize = 4): Layer.Layer<Database, unknown> =>
  Layer.scoped(
    Database,
    Effect.gen(function* () {
      const url = yield* serverUrl
      const db = yield* TestDatabase.make.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["TEST_DATABASE_URL", Redacted.value(url)]])),
        ),
      )
      return yield* Database.make({ url: db.url, component, poolSize })
    }),
  ).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)))
