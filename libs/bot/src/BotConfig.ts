import { positiveDuration } from "@flatwatch/db/DurationConfig"
import type { Market } from "@flatwatch/market/Market"
import { type MarketSet, Markets } from "@flatwatch/market/Markets"
import { timeZone } from "@flatwatch/telegram/DisplayTime"
import { TelegramConfig } from "@flatwatch/telegram/TelegramConfig"
import { Config, ConfigError, Duration, Effect, Either, Option, Redacted } from "effect"

/** How updates reach the bot: long polling (default) or a webhook served by `Bun.serve`. */
export type BotMode = "polling" | "webhook"

export interface WebhookConfig {
  /** The public URL Telegram posts to; its path is the path the server answers on. */
  readonly url: string
  /** Sent back by Telegram in `X-Telegram-Bot-Api-Secret-Token`; anything else gets 401. */
  readonly secret: Redacted.Redacted<string>
  readonly host: string
  /** 0 = any free port (tests). */
  readonly port: number
}

/**
 * A bad value of `name`. The variable is named explicitly: `Config.mapOrFail` on a named
 * primitive does not add the name to the error's path by itself.
 */
const invalid = (name: string, message: string) =>
  Either.left(ConfigError.InvalidData([name], message))

/** `BOT_MODE`: `polling` (default) or `webhook`. */
export const botMode: Config.Config<BotMode> = Config.literal(
  "polling",
  "webhook",
)("BOT_MODE").pipe(Config.withDefault("polling" as const))

const httpUrl = (raw: string): URL | undefined => {
  try {
    const url = new URL(raw)
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined
  } catch {
    return undefined
  }
}

/** `WEBHOOK_URL`: an http(s) URL (Telegram itself requires https). */
const webhookUrl = Config.string("WEBHOOK_URL").pipe(
  Config.validate({
    message: "must be an http(s) URL, such as https://bot.example.com/telegram",
    validation: (raw) => httpUrl(raw) !== undefined,
  }),
  Config.map((raw) => httpUrl(raw)?.toString() ?? raw),
)

/**
 * `WEBHOOK_SECRET`: 1-256 characters of A-Z, a-z, 0-9, `_` and `-` (Telegram's rule). Checked
 * as a plain string so the error names the variable (never the value), then kept redacted.
 */
const webhookSecret = Config.string("WEBHOOK_SECRET").pipe(
  Config.validate({
    message: "must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
    validation: (secret) => /^[A-Za-z0-9_-]{1,256}$/.test(secret),
  }),
  Config.map(Redacted.make),
)

const webhookPort = Config.integer("WEBHOOK_PORT").pipe(
  Config.validate({
    message: "must be a port number (0-65535)",
    validation: (p) => p >= 0 && p <= 65535,
  }),
  Config.withDefault(8443),
)

const webhookHost = Config.string("WEBHOOK_HOST").pipe(Config.withDefault("0.0.0.0"))

/** `MAX_FILTERS_PER_USER`: how many searches one user may keep (default 5). */
export const maxFiltersPerUser: Config.Config<number> = Config.integer("MAX_FILTERS_PER_USER").pipe(
  Config.validate({ message: "must be between 1 and 50", validation: (n) => n >= 1 && n <= 50 }),
  Config.withDefault(5),
)

/** `BOT_MARKETS`: comma-separated ids of the markets users can search in (default `dubai`). */
export const enabledMarketIds: Config.Config<ReadonlyArray<string>> = Config.string(
  "BOT_MARKETS",
).pipe(
  Config.withDefault("dubai"),
  Config.mapOrFail((raw) => {
    const ids = [
      ...new Set(
        raw
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
    ]
    return ids.length === 0 ? invalid("BOT_MARKETS", "names no market") : Either.right(ids)
  }),
)

/** The markets of `ids`, in that order; an id without a market file fails naming `BOT_MARKETS`. */
const resolveMarkets = (
  set: MarketSet,
  ids: ReadonlyArray<string>,
): Either.Either<ReadonlyArray<Market>, ConfigError.ConfigError> => {
  const unknown = ids.find((id) => set.get(id) === undefined)
  if (unknown !== undefined) {
    return invalid(
      "BOT_MARKETS",
      `"${unknown}" is not a known market (known: ${set.ids.join(", ")})`,
    )
  }
  return Either.right(ids.flatMap((id) => set.get(id) ?? []))
}

export interface BotSettings {
  readonly telegram: TelegramConfig
  readonly mode: BotMode
  /** Present exactly when `mode` is `webhook`. */
  readonly webhook: Option.Option<WebhookConfig>
  readonly maxFiltersPerUser: number
  /** The markets users can pick (`BOT_MARKETS`), in that order; never empty. */
  readonly markets: ReadonlyArray<Market>
  /** Every loaded market: searches of a market no longer offered still show its names. */
  readonly allMarkets: MarketSet
  /** `TIME_ZONE`: the IANA zone every date the bot shows is in (the notices use it too). */
  readonly timeZone: string
  /**
   * How long stopping waits for the updates in hand before interrupting them: half of the
   * runner's `SHUTDOWN_TIMEOUT` (default 10 s), so that the worker stops inside the runner's
   * deadline with its pool closed.
   */
  readonly drainTimeout?: Duration.Duration
}

const requiredForWebhook = (name: string) =>
  Either.left(ConfigError.MissingData([name], `${name} is required with BOT_MODE=webhook`))

const botEnv = Config.all({
  telegram: TelegramConfig,
  mode: botMode,
  maxFiltersPerUser,
  markets: enabledMarketIds,
  timeZone,
  webhookUrl: Config.option(webhookUrl),
  webhookSecret: Config.option(webhookSecret),
  webhookHost,
  webhookPort,
  shutdownTimeout: positiveDuration("SHUTDOWN_TIMEOUT", "20 seconds"),
}).pipe(
  Config.mapOrFail(
    (
      c,
    ): Either.Either<
      Omit<BotSettings, "markets" | "allMarkets"> & { readonly marketIds: ReadonlyArray<string> },
      ConfigError.ConfigError
    > => {
      const common = {
        telegram: c.telegram,
        mode: c.mode,
        maxFiltersPerUser: c.maxFiltersPerUser,
        marketIds: c.markets,
        timeZone: c.timeZone,
        drainTimeout: Duration.times(c.shutdownTimeout, 0.5),
      }
      if (c.mode === "polling") return Either.right({ ...common, webhook: Option.none() })
      if (Option.isNone(c.webhookUrl)) return requiredForWebhook("WEBHOOK_URL")
      if (Option.isNone(c.webhookSecret)) return requiredForWebhook("WEBHOOK_SECRET")
      return Either.right({
        ...common,
        webhook: Option.some({
          url: c.webhookUrl.value,
          secret: c.webhookSecret.value,
          host: c.webhookHost,
          port: c.webhookPort,
        }),
      })
    },
  ),
)

/**
 * Everything the bot component reads from its environment, with the markets of `BOT_MARKETS`
 * taken from the loaded `Markets`. `WEBHOOK_URL` and `WEBHOOK_SECRET` are required only with
 * `BOT_MODE=webhook` (a bad value fails either way).
 */
export const BotConfig: Effect.Effect<BotSettings, ConfigError.ConfigError, Markets> = Effect.gen(
  function* () {
    const { marketIds, ...env } = yield* botEnv
    const allMarkets = yield* Markets
    const markets = yield* resolveMarkets(allMarkets, marketIds)
    return { ...env, markets, allMarkets }
  },
)
