import { parseArgs } from "node:util"
import { loadMarkets, MarketsConfig } from "@flatwatch/market/Markets"
import { Data, Effect } from "effect"
import { parseAvitoPage } from "./AvitoSource.ts"
import { parseBayutResponse } from "./BayutSource.ts"
import { htmlPageParser } from "./HtmlSource.ts"
import { loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import type { InvalidCard, Listing, PageResult } from "./Listing.ts"
import { withDistrictGroups } from "./ListingGroups.ts"

export const USAGE = `usage: bun run parse --source <bayut|avito|html> [--config <file>] [--url <page-url>] [--market <market>] <page-file>

Parses a saved page with a source's adapter and prints one JSON document:
  {"status":"listings"|"empty"|"blocked","listings":[...],"invalid":[...]}
  --source  bayut (Algolia JSON), avito (search page HTML), html (needs --config)
  --config  an html source config (JSON), e.g. libs/parser/sources/domria.json
  --url     the page's URL, to make relative links absolute
  --market  the market written into the listings (default: bayut dubai, avito moscow, html from the config);
            district groups come from its market file (shipped, or in MARKETS_DIR)`

/** Wrong or missing arguments, an unreadable file or a bad config: exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The document the command prints. */
export interface ParseOutput {
  readonly status: "listings" | "empty" | "blocked"
  readonly listings: ReadonlyArray<Listing>
  readonly invalid: ReadonlyArray<InvalidCard>
}

export const toOutput = (result: PageResult): ParseOutput =>
  result._tag === "Listings"
    ? { status: "listings", listings: result.listings, invalid: result.invalid }
    : { status: result._tag === "Empty" ? "empty" : "blocked", listings: [], invalid: [] }

/** Runs the ops `parse` command on `argv` (without the runtime and script). */
export const parseCommand = (argv: ReadonlyArray<string>): Effect.Effect<ParseOutput, UsageError> =>
  Effect.gen(function* () {
    const args = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...argv],
          allowPositionals: true,
          options: {
            source: { type: "string" },
            config: { type: "string" },
            url: { type: "string" },
            market: { type: "string" },
          },
        }),
      catch: (e) => new UsageError({ message: e instanceof Error ? e.message : String(e) }),
    })
    const { source, config, url, market } = args.values
    const [file, ...extra] = args.positionals
    if (source === undefined) return yield* new UsageError({ message: "--source is required" })
    if (file === undefined) return yield* new UsageError({ message: "the page file is missing" })
    if (extra.length > 0)
      return yield* new UsageError({ message: `unexpected arguments: ${extra.join(" ")}` })
    if (url !== undefined && !URL.canParse(url)) {
      return yield* new UsageError({ message: `--url is not a URL: ${url}` })
    }
    if (source !== "bayut" && source !== "avito" && source !== "html") {
      return yield* new UsageError({ message: `unknown source "${source}" (bayut, avito or html)` })
    }
    if (source === "html" && config === undefined) {
      return yield* new UsageError({ message: "--source html needs --config <file>" })
    }
    if (config !== undefined && source !== "html") {
      return yield* new UsageError({ message: "--config goes with --source html" })
    }
    const markets = yield* Effect.flatMap(MarketsConfig, loadMarkets).pipe(
      Effect.mapError((e) => new UsageError({ message: e.message })),
    )
    const withGroups = (output: ParseOutput): ParseOutput => ({
      ...output,
      listings: output.listings.map((l) => withDistrictGroups(markets, l)),
    })
    const body = yield* Effect.tryPromise({
      try: () => Bun.file(file).text(),
      catch: () => new UsageError({ message: `cannot read the page file ${file}` }),
    })
    switch (source) {
      case "bayut":
        return withGroups(toOutput(parseBayutResponse(body, { market: market ?? "dubai" }).result))
      case "avito":
        return withGroups(
          toOutput(
            yield* parseAvitoPage(body, {
              market: market ?? "moscow",
              ...(url === undefined ? {} : { pageUrl: url }),
            }),
          ),
        )
      case "html": {
        if (config === undefined)
          return yield* new UsageError({ message: "--source html needs --config <file>" })
        const loaded = yield* loadHtmlSourceConfig(config).pipe(
          Effect.mapError((e) => new UsageError({ message: e.message })),
        )
        const parse = htmlPageParser(market === undefined ? loaded : { ...loaded, market })
        return withGroups(toOutput(yield* parse(body, url)))
      }
      default:
        return yield* new UsageError({
          message: `unknown source "${source}" (bayut, avito or html)`,
        })
    }
  })
