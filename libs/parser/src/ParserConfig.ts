import { nonNegativeDuration, positiveDuration } from "@flatwatch/db/DurationConfig"
import { type MarketSet, Markets } from "@flatwatch/market/Markets"
import { adminIds } from "@flatwatch/telegram/TelegramConfig"
import { Cron } from "croner"
import { Config, ConfigError, type Duration, Effect, Either, Option, Redacted } from "effect"
import { avitoSource } from "./AvitoSource.ts"
import { BAYUT_SITE, bayutSource } from "./BayutSource.ts"
import { BrowserConfig, type BrowserOptions } from "./Browser.ts"
import { findChromium } from "./Chromium.ts"
import { DEFAULT_USER_AGENT, type FetchOptions } from "./Fetcher.ts"
import { type FetchMode, needsBrowser } from "./FetchMode.ts"
import { htmlSource } from "./HtmlSource.ts"
import { HtmlSourceConfigError, loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import type { PriceWatchSettings } from "./PriceWatch.ts"
import type { Source } from "./Source.ts"
import type { HealthPolicy } from "./SourceHealth.ts"
import type { RunSettings } from "./SourceRun.ts"

/** The price watch of a source: its own cron, and what it looks at. */
export interface PriceWatchSchedule {
  readonly cron: string
  readonly settings: PriceWatchSettings
}

/** A source with its schedule and health policy (and its price watch, if it has one). */
export interface ScheduledSource {
  readonly source: Source
  readonly cron: string
  readonly policy: HealthPolicy
  readonly priceWatch?: PriceWatchSchedule
  /** How its pages are fetched (`http` when absent). */
  readonly fetchMode?: FetchMode
  /** Where `fetchMode` was set: a variable (`BAYUT_FETCH`) or a file (`<path>: fetch`). */
  readonly fetchModeSetIn?: string
}

export interface ParserConfig {
  readonly sources: ReadonlyArray<ScheduledSource>
  /** Each run starts after a random delay up to this, so instances and sources spread out. */
  readonly jitter: Duration.Duration
  /** Run every source once at start-up too, not only on its schedule. */
  readonly runOnStart: boolean
  readonly adminIds: ReadonlyArray<number>
  /** Set when a source fetches with `browser` or `auto`: Chromium was found. */
  readonly browser: Option.Option<Omit<BrowserOptions, "owner">>
}

const invalid = (message: string) => Either.left(ConfigError.InvalidData([], message))

/*
 * Validation runs inside `Config.nested(..., NAME)` on an unnamed primitive: that way a rejected
 * value is reported at the variable's name ("Invalid data at BAYUT_CRON: ..."), which is not the
 * case for `mapOrFail` applied after a named primitive.
 */

/** A cron pattern (5 fields, or 6 with seconds first), checked by croner. */
export const cronPattern = (name: string): Config.Config<string> =>
  Config.nested(
    Config.string().pipe(
      Config.mapOrFail((pattern) => {
        try {
          new Cron(pattern, { paused: true }).stop()
          return Either.right(pattern)
        } catch (error) {
          return invalid(
            `is not a cron pattern (${error instanceof Error ? error.message : String(error)})`,
          )
        }
      }),
    ),
    name,
  )

const isHttpUrl = (url: string) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)

const httpUrl = (name: string): Config.Config<string> =>
  Config.nested(
    Config.string().pipe(
      Config.mapOrFail((raw) => {
        const url = raw.trim().replace(/\/+$/, "")
        return isHttpUrl(url) ? Either.right(url) : invalid(`is not an http(s) URL: ${raw}`)
      }),
    ),
    name,
  )

const boundedInt = (name: string, min: number, max: number) =>
  Config.nested(
    Config.integer().pipe(
      Config.validate({
        message: `must be a whole number from ${min} to ${max}`,
        validation: (n) => n >= min && n <= max,
      }),
    ),
    name,
  )

const int = (name: string, min: number, max: number, fallback: number) =>
  boundedInt(name, min, max).pipe(Config.withDefault(fallback))

const duration = positiveDuration

const list = (
  name: string,
  validate: (items: Array<string>) => string | undefined = () => undefined,
) =>
  Config.nested(
    Config.string().pipe(
      Config.mapOrFail((raw) => {
        const items = raw
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
        const problem = validate(items)
        return problem === undefined ? Either.right(items) : invalid(problem)
      }),
    ),
    name,
  )

const proxy = (name: string) =>
  Config.option(
    Config.nested(
      Config.redacted().pipe(
        Config.mapOrFail((value) =>
          URL.canParse(Redacted.value(value))
            ? Either.right(value)
            : invalid("is not a proxy URL (http://user:pass@host:port)"),
        ),
      ),
      name,
    ),
  )

/** Settings every source shares (each can override some). */
const shared = Config.all({
  userAgent: Config.string("PARSER_USER_AGENT").pipe(Config.withDefault(DEFAULT_USER_AGENT)),
  timeout: duration("PARSER_FETCH_TIMEOUT", "20 seconds"),
  retries: int("PARSER_FETCH_RETRIES", 0, 10, 3),
  backoff: duration("PARSER_FETCH_BACKOFF", "1 second"),
  maxRetryAfter: duration("PARSER_MAX_RETRY_AFTER", "60 seconds"),
  maxBytes: int("PARSER_MAX_RESPONSE_BYTES", 10_000, 200_000_000, 10 * 1024 * 1024),
  politeness: nonNegativeDuration("PARSER_POLITENESS_DELAY", "1 second"),
  jitter: nonNegativeDuration("PARSER_JITTER", "10 seconds"),
  runOnStart: Config.boolean("PARSER_RUN_ON_START").pipe(Config.withDefault(true)),
  degradedAfter: int("PARSER_DEGRADED_AFTER", 1, 10_000, 5),
  blockedBackoff: duration("PARSER_BLOCKED_BACKOFF", "1 minute"),
  maxBlockedBackoff: duration("PARSER_BLOCKED_BACKOFF_MAX", "1 hour"),
  priceWatchWindow: duration("PARSER_PRICE_WATCH_WINDOW", "30 days"),
  priceWatchGoneAfter: duration("PARSER_PRICE_WATCH_GONE_AFTER", "3 days"),
})
type Shared = Config.Config.Success<typeof shared>

const fetchOptions = (
  s: Shared,
  source: string,
  overrides: {
    readonly acceptLanguage: string
    readonly politeness: Option.Option<Duration.Duration>
    readonly proxy: Option.Option<Redacted.Redacted<string>>
    readonly mode: FetchMode
    readonly siteUrl?: string
  },
): FetchOptions => ({
  mode: overrides.mode,
  ...(overrides.siteUrl === undefined ? {} : { siteUrl: overrides.siteUrl }),
  source,
  timeout: s.timeout,
  retries: s.retries,
  backoff: s.backoff,
  maxRetryAfter: s.maxRetryAfter,
  politeness: Option.getOrElse(overrides.politeness, () => s.politeness),
  userAgent: s.userAgent,
  acceptLanguage: overrides.acceptLanguage,
  proxy: overrides.proxy,
  maxBytes: s.maxBytes,
})

/** `<NAME>`: `http`, `browser` or `auto` (see `FetchMode`). */
const fetchMode = (name: string) => Config.nested(Config.literal("http", "browser", "auto")(), name)

/** `<PREFIX>_PROXY`, `<PREFIX>_POLITENESS_DELAY`, `<PREFIX>_ACCEPT_LANGUAGE`, `<PREFIX>_FETCH`. */
const siteSettings = (prefix: string, acceptLanguage: string) =>
  Config.all({
    mode: fetchMode(`${prefix}_FETCH`).pipe(Config.withDefault("http" as const)),
    proxy: proxy(`${prefix}_PROXY`),
    politeness: Config.option(nonNegativeDuration(`${prefix}_POLITENESS_DELAY`)),
    acceptLanguage: Config.string(`${prefix}_ACCEPT_LANGUAGE`).pipe(
      Config.withDefault(acceptLanguage),
    ),
  })

const policy = (s: Shared, degradedAfter: Option.Option<number>): HealthPolicy => ({
  degradedAfter: Option.getOrElse(degradedAfter, () => s.degradedAfter),
  blockedBackoff: s.blockedBackoff,
  maxBlockedBackoff: s.maxBlockedBackoff,
})

/** `name` names a loaded market; otherwise start-up fails naming the variable and the known ones. */
const knownMarket = (markets: MarketSet, name: string, id: string) =>
  Either.match(markets.require(id), {
    onLeft: (problem) => Effect.fail(ConfigError.InvalidData([name], problem)),
    onRight: (market) => Effect.succeed(market),
  })

const bayut = (s: Shared, markets: MarketSet) =>
  Effect.gen(function* () {
    const enabled = yield* Config.boolean("BAYUT_ENABLED").pipe(Config.withDefault(true))
    if (!enabled) return Option.none<ScheduledSource>()
    const c = yield* Config.all({
      cron: cronPattern("BAYUT_CRON").pipe(Config.withDefault("*/2 * * * *")),
      appId: Config.nonEmptyString("BAYUT_ALGOLIA_APP_ID"),
      apiKey: Config.redacted("BAYUT_ALGOLIA_API_KEY"),
      index: Config.nonEmptyString("BAYUT_ALGOLIA_INDEX").pipe(
        Config.withDefault("bayut-production-ads-en"),
      ),
      baseUrl: Config.option(httpUrl("BAYUT_BASE_URL")),
      siteUrl: httpUrl("BAYUT_SITE_URL").pipe(Config.withDefault(BAYUT_SITE)),
      market: Config.nonEmptyString("BAYUT_MARKET").pipe(Config.withDefault("dubai")),
      hitsPerPage: int("BAYUT_HITS_PER_PAGE", 1, 1000, 25),
      maxPages: int("BAYUT_MAX_PAGES", 1, 1000, 20),
      overlap: nonNegativeDuration("BAYUT_CURSOR_OVERLAP", "10 minutes"),
      initialLookback: duration("BAYUT_INITIAL_LOOKBACK", "1 hour"),
      detailPages: Config.boolean("BAYUT_DETAIL_PAGES").pipe(Config.withDefault(true)),
      detailConcurrency: int("BAYUT_DETAIL_CONCURRENCY", 1, 16, 2),
      fetch: siteSettings("BAYUT", "en-US,en;q=0.9"),
      degradedAfter: boundedInt("BAYUT_DEGRADED_AFTER", 1, 10_000).pipe(Config.withDefault(30)),
      priceWatch: Config.boolean("BAYUT_PRICE_WATCH_ENABLED").pipe(Config.withDefault(true)),
      // An odd minute: the default crawl runs on even ones.
      priceWatchCron: cronPattern("BAYUT_PRICE_WATCH_CRON").pipe(Config.withDefault("25 * * * *")),
      priceWatchBatch: int("BAYUT_PRICE_WATCH_BATCH", 1, 1000, 50),
      priceWatchMaxBatches: int("BAYUT_PRICE_WATCH_MAX_BATCHES", 1, 1000, 20),
      htmlFallback: Config.boolean("BAYUT_HTML_FALLBACK").pipe(Config.withDefault(true)),
      htmlSearchPath: Config.nonEmptyString("BAYUT_HTML_SEARCH_PATH").pipe(
        Config.withDefault("/to-rent/property/dubai/"),
      ),
      htmlMaxPages: int("BAYUT_HTML_MAX_PAGES", 1, 50, 3),
    })
    yield* knownMarket(markets, "BAYUT_MARKET", c.market)
    const source = bayutSource({
      id: "bayut",
      market: c.market,
      apiUrl: Option.getOrElse(c.baseUrl, () => `https://${c.appId.toLowerCase()}-dsn.algolia.net`),
      appId: c.appId,
      apiKey: c.apiKey,
      index: c.index,
      siteUrl: c.siteUrl,
      hitsPerPage: c.hitsPerPage,
      maxPages: c.maxPages,
      overlap: c.overlap,
      initialLookback: c.initialLookback,
      detailPages: c.detailPages,
      detailConcurrency: c.detailConcurrency,
      watchBatchSize: c.priceWatchBatch,
      htmlSearch: c.htmlFallback ? { path: c.htmlSearchPath, maxPages: c.htmlMaxPages } : undefined,
      fetch: fetchOptions(s, "bayut", { ...c.fetch, siteUrl: c.siteUrl }),
    })
    // Zero new listings for an hour is normal at night with a cursor: a higher default than
    // the shared PARSER_DEGRADED_AFTER.
    return Option.some({
      source,
      cron: c.cron,
      policy: policy(s, Option.some(c.degradedAfter)),
      fetchMode: c.fetch.mode,
      fetchModeSetIn: "BAYUT_FETCH",
      ...(c.priceWatch
        ? {
            priceWatch: {
              cron: c.priceWatchCron,
              settings: {
                window: s.priceWatchWindow,
                goneAfter: s.priceWatchGoneAfter,
                maxListings: c.priceWatchBatch * c.priceWatchMaxBatches,
              },
            },
          }
        : {}),
    })
  })

const avito = (s: Shared, markets: MarketSet) =>
  Effect.gen(function* () {
    const enabled = yield* Config.boolean("AVITO_ENABLED").pipe(Config.withDefault(false))
    if (!enabled) return Option.none<ScheduledSource>()
    const c = yield* Config.all({
      cron: cronPattern("AVITO_CRON").pipe(Config.withDefault("*/5 * * * *")),
      urls: list("AVITO_URLS", (urls) => {
        const bad = urls.find((u) => !isHttpUrl(u))
        if (urls.length === 0) return "needs at least one Avito search URL"
        return bad === undefined ? undefined : `is not an http(s) URL: ${bad}`
      }),
      market: Config.nonEmptyString("AVITO_MARKET"),
      baseUrl: Config.option(httpUrl("AVITO_BASE_URL")),
      maxPages: int("AVITO_MAX_PAGES", 1, 100, 2),
      fetch: siteSettings("AVITO", "ru-RU,ru;q=0.9"),
      degradedAfter: Config.option(boundedInt("AVITO_DEGRADED_AFTER", 1, 10_000)),
    })
    yield* knownMarket(markets, "AVITO_MARKET", c.market)
    const source = avitoSource({
      id: "avito",
      market: c.market,
      urls: c.urls,
      baseUrl: Option.getOrUndefined(c.baseUrl),
      maxPages: c.maxPages,
      fetch: fetchOptions(s, "avito", c.fetch),
    })
    return Option.some({
      source,
      cron: c.cron,
      policy: policy(s, c.degradedAfter),
      fetchMode: c.fetch.mode,
      fetchModeSetIn: "AVITO_FETCH",
    })
  })

const envKey = (id: string) => id.toUpperCase().replace(/[^A-Z0-9]/g, "_")

const html = (s: Shared, markets: MarketSet) =>
  Effect.gen(function* () {
    const paths = yield* list("HTML_SOURCES").pipe(Config.withDefault([]))
    const sources: Array<ScheduledSource> = []
    for (const path of paths) {
      // The operator set HTML_SOURCES, not the file: say which variable led there.
      const config = yield* loadHtmlSourceConfig(path).pipe(
        Effect.mapError(
          (error) => new HtmlSourceConfigError({ path, message: `HTML_SOURCES: ${error.message}` }),
        ),
      )
      if (!config.enabled) continue
      // Its market must have a file, and filters compare prices in the market's currency.
      const market = markets.require(config.market)
      const problem = Either.isLeft(market)
        ? `market: ${market.left}`
        : market.right.currency !== config.currency
          ? `currency: ${config.currency} is not the currency of market "${market.right.id}" (${market.right.currency}); filters compare prices in the market's currency`
          : undefined
      if (problem !== undefined) {
        return yield* new HtmlSourceConfigError({
          path,
          message: `HTML_SOURCES: ${path}: ${problem}`,
        })
      }
      const key = `HTML_${envKey(config.id)}`
      const c = yield* Config.all({
        baseUrl: Config.option(httpUrl(`${key}_BASE_URL`)),
        proxy: proxy(`${key}_PROXY`),
        mode: Config.option(fetchMode(`${key}_FETCH`)),
      })
      const mode = Option.getOrElse(c.mode, () => config.fetch)
      const source = htmlSource(config, {
        baseUrl: Option.getOrUndefined(c.baseUrl),
        fetch: fetchOptions(s, config.id, {
          acceptLanguage: config.acceptLanguage ?? "en-US,en;q=0.9",
          politeness: Option.none(),
          proxy: c.proxy,
          mode,
        }),
      })
      sources.push({
        source,
        cron: config.cron,
        policy: policy(s, Option.none()),
        fetchMode: mode,
        fetchModeSetIn: Option.isNone(c.mode) ? `${path}: fetch` : `${key}_FETCH`,
      })
    }
    return sources
  })

/**
 * Reads the parser's configuration (every variable is listed in the README). Fails with a
 * `ConfigError` naming the variable, or an `HtmlSourceConfigError` naming the file and field.
 * Every source's market must be one of the loaded `Markets` (and a config source's currency
 * its market's).
 */
export const loadParserConfig: Effect.Effect<
  ParserConfig,
  ConfigError.ConfigError | HtmlSourceConfigError,
  Markets
> = Effect.gen(function* () {
  const s = yield* shared
  const markets = yield* Markets
  const sources = [
    ...Option.toArray(yield* bayut(s, markets)),
    ...Option.toArray(yield* avito(s, markets)),
    ...(yield* html(s, markets)),
  ]
  const ids = sources.map((x) => x.source.id)
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i)
  if (duplicate !== undefined) {
    return yield* Effect.fail(
      ConfigError.InvalidData(["HTML_SOURCES"], `two sources have the id "${duplicate}"`),
    )
  }
  return {
    sources,
    jitter: s.jitter,
    runOnStart: s.runOnStart,
    adminIds: yield* adminIds,
    browser: yield* browserFor(sources),
  }
})

/**
 * The browser settings when a source fetches with `browser` or `auto`. Without Chromium, fails
 * naming the variable (or file) that asked for the browser and saying how to install it.
 */
const browserFor = (sources: ReadonlyArray<ScheduledSource>) =>
  Effect.gen(function* () {
    const wanting = sources.find((x) => needsBrowser(x.fetchMode ?? "http"))
    if (wanting === undefined) return Option.none<Omit<BrowserOptions, "owner">>()
    const setIn = wanting.fetchModeSetIn ?? wanting.source.id
    const explicit = yield* Config.option(Config.string("CHROMIUM_PATH"))
    const found = findChromium(Option.getOrUndefined(explicit))
    if (Either.isLeft(found)) {
      const mode = wanting.fetchMode ?? "http"
      return yield* Effect.fail(
        setIn.endsWith(": fetch")
          ? ConfigError.InvalidData(
              ["HTML_SOURCES"],
              `${setIn} "${mode}" needs Chromium: ${found.left}`,
            )
          : ConfigError.InvalidData([setIn], `"${mode}" needs Chromium: ${found.left}`),
      )
    }
    return Option.some(yield* BrowserConfig)
  })

/** The run settings of one scheduled source. */
export const runSettings = (config: ParserConfig, scheduled: ScheduledSource): RunSettings => ({
  policy: scheduled.policy,
  adminIds: config.adminIds,
})
