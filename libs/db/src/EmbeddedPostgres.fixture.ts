/**
 * Test fixture: starts an embedded PostgreSQL in the folder given as argument, prints its pid
 * and port as JSON, and waits forever, so that a test can SIGKILL this process and leave the
 * postmaster behind, as a crashed runner would.
 */
import { Effect, Logger, LogLevel } from "effect"
import { start } from "./EmbeddedPostgres.ts"

const dataDir = process.argv[2]
if (dataDir === undefined) throw new Error("usage: EmbeddedPostgres.fixture.ts <data-dir>")
await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const pg = yield* start({ dataDir })
      process.stdout.write(`${JSON.stringify({ pid: pg.pid, port: pg.port })}\n`)
      return yield* Effect.never
    }),
  ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
)
