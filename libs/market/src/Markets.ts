import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  Config,
  type ConfigError,
  Context,
  Data,
  Effect,
  Either,
  Layer,
  Option,
  ParseResult,
  Schema,
} from "effect"
import { type Market, MarketFile, makeMarket } from "./Market.ts"

/** The market files shipped with Flatwatch (Dubai, Moscow, Berlin, Kyiv). */
export const shippedMarketsDir = fileURLToPath(new URL("../markets", import.meta.url))

/** A market file (or folder) that cannot be used; the message names the file, the field and why. */
export class MarketError extends Data.TaggedError("MarketError")<{
  readonly path: string
  readonly message: string
}> {}

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`)
    .join("; ")

const decode = Schema.decodeUnknownEither(MarketFile, { errors: "all", onExcessProperty: "error" })

/** Validates parsed JSON as a market file; `path` is only for the message. */
export const parseMarketFile = (json: unknown, path: string): Either.Either<Market, MarketError> =>
  Either.match(decode(json), {
    onLeft: (error) =>
      Either.left(new MarketError({ path, message: `${path}: ${describeIssues(error)}` })),
    onRight: (content) => Either.right(makeMarket(content, path)),
  })

/** Reads and validates one market file. */
export const loadMarketFile = (path: string): Effect.Effect<Market, MarketError> =>
  Effect.tryPromise({
    try: () => Bun.file(path).text(),
    catch: (cause) =>
      new MarketError({ path, message: `${path}: cannot be read (${String(cause)})` }),
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (cause) =>
          new MarketError({
            path,
            message: `${path}: is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`,
          }),
      }),
    ),
    Effect.flatMap((json) => parseMarketFile(json, path)),
  )

/** Every `*.json` of a folder, by name; a folder that cannot be read fails naming `label`. */
const loadFolder = (
  dir: string,
  label: string,
): Effect.Effect<ReadonlyArray<Market>, MarketError> =>
  Effect.tryPromise({
    try: () => Array.fromAsync(new Bun.Glob("*.json").scan({ cwd: dir, onlyFiles: true })),
    catch: (cause) =>
      new MarketError({
        path: dir,
        message: `${label}: the folder ${dir} cannot be read (${cause instanceof Error ? cause.message : String(cause)})`,
      }),
  }).pipe(
    Effect.flatMap((names) =>
      Effect.forEach([...names].sort(), (name) => loadMarketFile(join(dir, name))),
    ),
    Effect.flatMap((markets) => {
      const ids = markets.map((m) => m.id)
      const twice = markets.find((m, i) => ids.indexOf(m.id) !== i)
      const first = markets.find((m) => m.id === twice?.id)
      return twice === undefined || first === undefined
        ? Effect.succeed(markets)
        : Effect.fail(
            new MarketError({
              path: twice.file,
              message: `${twice.file}: id: "${twice.id}" is already the id of ${basename(first.file)}`,
            }),
          )
    }),
  )

/** The markets Flatwatch knows, by id. */
export class MarketSet {
  private readonly byId: ReadonlyMap<string, Market>
  constructor(readonly all: ReadonlyArray<Market>) {
    this.byId = new Map(all.map((m) => [m.id, m]))
  }
  get ids(): ReadonlyArray<string> {
    return this.all.map((m) => m.id)
  }
  /** The market with this id, if there is one. */
  get(id: string): Market | undefined {
    return this.byId.get(id)
  }
  /** The market with this id, or an error message naming the known ones. */
  require(id: string): Either.Either<Market, string> {
    const market = this.byId.get(id)
    return market === undefined
      ? Either.left(`no market file has the id "${id}" (known: ${this.ids.join(", ")})`)
      : Either.right(market)
  }
}

export interface MarketsOptions {
  /** An operator's folder of extra `*.json` market files; one whose id is shipped replaces it. */
  readonly dir?: string | undefined
}

/**
 * Loads the shipped markets and the operator's (`options.dir`). Fails with a `MarketError` naming
 * the file, the field and why; two files of one folder with the same id are an error.
 */
export const loadMarkets = (options: MarketsOptions = {}): Effect.Effect<MarketSet, MarketError> =>
  Effect.gen(function* () {
    const shipped = yield* loadFolder(shippedMarketsDir, "shipped markets")
    const own = options.dir === undefined ? [] : yield* loadFolder(options.dir, "MARKETS_DIR")
    const ownIds = new Set(own.map((m) => m.id))
    return new MarketSet([...shipped.filter((m) => !ownIds.has(m.id)), ...own])
  })

/** `MARKETS_DIR`: an operator's folder of market files (optional). */
export const MarketsConfig: Config.Config<MarketsOptions> = Config.map(
  Config.option(Config.nonEmptyString("MARKETS_DIR")),
  (dir) => ({ dir: Option.getOrUndefined(dir) }),
)

/**
 * The loaded markets, shared by the bot, the parser and the subscriptions worker. Build it once
 * per worker with `Markets.layerConfig` (reads `MARKETS_DIR`), or `Markets.layer(options)`;
 * tests can give their own with `Markets.of(...)`.
 */
export class Markets extends Context.Tag("@flatwatch/market/Markets")<Markets, MarketSet>() {
  static readonly load = loadMarkets
  /** The markets of the shipped files and `options.dir`. */
  static readonly layer = (options: MarketsOptions = {}): Layer.Layer<Markets, MarketError> =>
    Layer.effect(Markets, loadMarkets(options))
  /** The markets of the shipped files and `MARKETS_DIR`. */
  static readonly layerConfig: Layer.Layer<Markets, MarketError | ConfigError.ConfigError> =
    Layer.effect(Markets, Effect.flatMap(MarketsConfig, loadMarkets))
  /** Exactly these markets (tests). */
  static readonly layerOf = (markets: ReadonlyArray<Market>): Layer.Layer<Markets> =>
    Layer.succeed(Markets, new MarketSet(markets))
}
