import { Database } from "@flatwatch/db/Database"
import { TelegramConfig } from "@flatwatch/telegram/TelegramConfig"
import { Data, Effect, Layer, Redacted } from "effect"
import { Api, GrammyError } from "grammy"

export class BotError extends Data.TaggedError("BotError")<{
  readonly reason: "TokenRejected" | "BotApi"
  readonly message: string
  readonly cause?: unknown
}> {}

/** The bot component (placeholder until the bot lands): proves its pool and its token work. */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    yield* Database.sql((sql) => sql`select 1`)
    const config = yield* TelegramConfig
    const api = new Api(Redacted.value(config.token), { apiRoot: config.apiRoot })
    const me = yield* Effect.tryPromise({
      // grammY types its signal with the abort-controller polyfill; the runtime one is compatible.
      try: (signal) => api.getMe(signal as Parameters<typeof api.getMe>[0]),
      catch: (cause) =>
        cause instanceof GrammyError && cause.error_code === 401
          ? new BotError({
              reason: "TokenRejected",
              message: "BOT_TOKEN was rejected by the Bot API (401 Unauthorized)",
              cause,
            })
          : new BotError({
              reason: "BotApi",
              message: `getMe failed: ${String((cause as Error).message ?? cause)}`,
              cause,
            }),
    })
    yield* Effect.logInfo(`bot @${me.username} started`)
  }),
)
