/**
 * Loaded before every test file (bunfig.toml). Tests need a real PostgreSQL: the one named by
 * TEST_DATABASE_URL, or else an embedded one started here once for the whole run and stopped
 * after the last test. Each test file then creates its own database on it (TestDatabase).
 */
import { afterAll, setDefaultTimeout } from "bun:test"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { makeTempDir, start } from "@flatwatch/db/EmbeddedPostgres"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"

// Creating and dropping a database per file, under a loaded 2-core machine, can outlast bun's
// 5 s default for tests and hooks.
setDefaultTimeout(30_000)

if (!process.env.TEST_DATABASE_URL) {
  const dir = makeTempDir("flatwatch-test-pg-")
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(
    start({ dataDir: join(dir, "data"), database: "postgres" }).pipe(
      Scope.extend(scope),
      Logger.withMinimumLogLevel(LogLevel.Warning),
    ),
  )
  process.env.TEST_DATABASE_URL = Redacted.value(pg.adminUrl)
  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  })
}
