/**
 * Test fixture: runs the parser's outbox sender, configured from the environment exactly as the
 * parser component does (`DATABASE_URL`, `BOT_TOKEN`, `TELEGRAM_API_ROOT`, `PARSER_SEND_RATE`,
 * `SEND_*`), prints `ready` once it runs, and runs until killed, so a test can SIGKILL it in the
 * middle of a backlog as a crash would.
 */
import { Database } from "@flatwatch/db/Database"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as OutboxSender from "./OutboxSender.ts"

const sender = OutboxSender.layerConfig(OutboxSender.presets.parser).pipe(
  Layer.provide(Database.layerConfig("sender-fixture")),
)

await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      yield* Layer.build(sender)
      process.stdout.write("ready\n")
      return yield* Effect.never
    }),
  ).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
)
