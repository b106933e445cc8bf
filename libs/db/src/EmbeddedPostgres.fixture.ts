/**
 * Test fixture: starts an embedded PostgreSQL in the folder given as argument, prints its pid,
 * port and the folders it uses as JSON, and waits forever, so that a test can SIGKILL this
 * process and leave the postmaster behind, as a crashed runner would.
 *
 * Usage: EmbeddedPostgres.fixture.ts <data-dir> [<cache-dir> <state-dir>]
 */
import { Effect, Logger, LogLevel } from "effect"
import { start } from "./EmbeddedPostgres.ts"

const [dataDir, cacheDir, stateDir] = process.argv.slice(2)
if (dataDir === undefined)
  throw new Error("usage: EmbeddedPostgres.fixture.ts <data-dir> [<cache-dir> <state-dir>]")
await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const pg = yield* start({
        dataDir,
        ...(cacheDir !== undefined ? { cacheDir } : {}),
        ...(stateDir !== undefined ? { stateDir } : {}),
      })
      process.stdout.write(
        `${JSON.stringify({ pid: pg.pid, port: pg.port, dataDir: pg.dataDir, binaries: pg.binaries })}\n`,
      )
      return yield* Effect.never
    }),
  ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
)
