import { Config, ConfigError, Either, Redacted } from "effect"

/** Telegram's own Bot API server; override with a self-hosted one or the test fake. */
export const DEFAULT_API_ROOT = "https://api.telegram.org"

const TOKEN_SHAPE = /^\d+:[A-Za-z0-9_-]+$/

/** `BOT_TOKEN`: required, secret, shaped like `123456:ABC-def...`. */
export const botToken: Config.Config<Redacted.Redacted<string>> = Config.redacted("BOT_TOKEN").pipe(
  Config.mapOrFail((token) =>
    TOKEN_SHAPE.test(Redacted.value(token))
      ? Either.right(token)
      : Either.left(
          ConfigError.InvalidData(
            [],
            "is not a bot token (expected <digits>:<letters>, as BotFather gives it)",
          ),
        ),
  ),
)

/** `TELEGRAM_API_ROOT`: an http(s) URL without a trailing slash; default Telegram's. */
export const apiRoot: Config.Config<string> = Config.string("TELEGRAM_API_ROOT").pipe(
  Config.withDefault(DEFAULT_API_ROOT),
  Config.mapOrFail((root) => {
    try {
      const url = new URL(root)
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error()
      return Either.right(root.replace(/\/+$/, ""))
    } catch {
      return Either.left(ConfigError.InvalidData([], `is not an http(s) URL: ${root}`))
    }
  }),
)

/**
 * `ADMIN_IDS`: comma-separated Telegram user ids of the operators (admin commands, source
 * alerts). Empty by default.
 */
export const adminIds: Config.Config<ReadonlyArray<number>> = Config.string("ADMIN_IDS").pipe(
  Config.withDefault(""),
  Config.mapOrFail((raw) => {
    const parts = raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
    const bad = parts.find((p) => !/^\d{1,16}$/.test(p))
    return bad === undefined
      ? Either.right(parts.map(Number))
      : Either.left(ConfigError.InvalidData([], `"${bad}" is not a Telegram user id`))
  }),
)

/** Everything a component needs to talk to the Bot API. */
export const TelegramConfig = Config.all({ token: botToken, apiRoot, adminIds })
export type TelegramConfig = Config.Config.Success<typeof TelegramConfig>
