import { positiveDuration } from "@flatwatch/db/DurationConfig"
import { Config, type Duration, Redacted } from "effect"

/** Telegram's own Bot API server; override with a self-hosted one or the test fake. */
export const DEFAULT_API_ROOT = "https://api.telegram.org"

const TOKEN_SHAPE = /^\d+:[A-Za-z0-9_-]+$/

const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

const parseIds = (raw: string) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

/** `BOT_TOKEN`: required, secret, shaped like `123456:ABC-def...`. */
export const botToken: Config.Config<Redacted.Redacted<string>> = Config.string("BOT_TOKEN").pipe(
  Config.validate({
    message: "is not a bot token (expected <digits>:<letters>, as BotFather gives it)",
    validation: (token) => TOKEN_SHAPE.test(token),
  }),
  Config.map(Redacted.make),
)

/** `TELEGRAM_API_ROOT`: an http(s) URL; default Telegram's. Trailing slashes are dropped. */
export const apiRoot: Config.Config<string> = Config.string("TELEGRAM_API_ROOT").pipe(
  Config.validate({ message: "is not an http(s) URL", validation: isHttpUrl }),
  Config.map((root) => root.replace(/\/+$/, "")),
  Config.withDefault(DEFAULT_API_ROOT),
)

/**
 * `ADMIN_IDS`: comma-separated Telegram user ids of the operators (admin commands, source
 * alerts). Empty by default.
 */
export const adminIds: Config.Config<ReadonlyArray<number>> = Config.string("ADMIN_IDS").pipe(
  Config.validate({
    message: "must be a comma-separated list of Telegram user ids",
    validation: (raw) => parseIds(raw).every((id) => /^\d{1,16}$/.test(id)),
  }),
  Config.map((raw) => parseIds(raw).map(Number)),
  Config.withDefault([]),
)

/**
 * `TELEGRAM_TIMEOUT`: how long one Bot API call may take (a sender's send, a bot's reply);
 * default 15 seconds. Long polling (`getUpdates`) has its own.
 */
export const callTimeout: Config.Config<Duration.Duration> = positiveDuration(
  "TELEGRAM_TIMEOUT",
  "15 seconds",
)

/** Everything a component needs to talk to the Bot API. */
export const TelegramConfig = Config.all({ token: botToken, apiRoot, adminIds, callTimeout })
export type TelegramConfig = Config.Config.Success<typeof TelegramConfig>
