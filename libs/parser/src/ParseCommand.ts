import { parseArgs } from "node:util"
import { loadMarkets, MarketsConfig } from "@flatwatch/market/Markets"
import { Data, Effect } from "effect"
import { parseAvitoPage } from "./AvitoSource.ts"
import { parseBayutResponse } from "./BayutSource.ts"
import { configuredFields } from "./CardRules.ts"
import { htmlPageParser } from "./HtmlSource.ts"
import { loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import type { InvalidCard, Listing, PageResult } from "./Listing.ts"
import { withDistrictGroups } from "./ListingGroups.ts"

export const USAGE = `usage: bun run parse --source <bayut|avito|html> [--config <file>] [--url <page-url>] [--market <market>] <page-file>...

Parses saved pages with a source's adapter: the operator's check of a site's markup or of a new
config before enabling it. Prints one JSON document per run on stdout (one page: the page's
document; several: {"pages":[...]}):
  {"file", "status":"listings"|"empty"|"blocked", "listings":[...], "invalid":[...],
   "skipped":{"count", "reasons":{reason: cards}}, "fields":{"areaM2":"0/24", ...}}
and a short report per page on stderr: listings, invalid and skipped cards with their reasons,
and per field how many listings it was filled on ("areaM2 0/24" flags a broken selector).
  --source  bayut (Algolia JSON, or a search or listing page), avito (search page HTML),
            html (a config source: HTML cards or JSON; needs --config)
  --config  a source config (JSON), e.g. libs/parser/sources/domria.json
  --url     the page's URL, to make relative links absolute
  --market  the market written into the listings (default: bayut dubai, avito moscow, html from the config);
            district groups come from its market file (shipped, or in MARKETS_DIR)
  --help    this text`

/** Wrong or missing arguments, an unreadable file or a bad config: exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** What the command prints for one page. */
export interface ParseOutput {
  readonly file: string
  readonly status: "listings" | "empty" | "blocked"
  readonly listings: ReadonlyArray<Listing>
  readonly invalid: ReadonlyArray<InvalidCard>
  readonly skipped: { readonly count: number; readonly reasons: Readonly<Record<string, number>> }
  /** Per field: on how many of the listings it has a value, as "filled/listings". */
  readonly fields: Readonly<Record<string, string>>
  /** Why the page is blocked, when it is. */
  readonly reason?: string
}

/** What a run of the command gives: the help text, or the pages' documents. */
export type ParseRun =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Pages"; readonly pages: ReadonlyArray<ParseOutput> }

/** The listing fields a built-in adapter fills (a config source: the fields it configures). */
const ADAPTER_FIELDS = [
  "title",
  "price",
  "rooms",
  "baths",
  "areaM2",
  "neighbourhood",
  "address",
  "description",
  "photos",
  "agentName",
  "agentPhone",
  "postedAt",
  "postedText",
] as const

/** Config field names that fill another listing field. */
const LISTING_FIELD: Record<string, keyof Listing> = {
  id: "externalId",
  photo: "photos",
}

const filled = (listing: Listing, field: keyof Listing): boolean => {
  const value = listing[field]
  return Array.isArray(value) ? value.length > 0 : value !== null && value !== undefined
}

/** Per field, on how many listings it was filled: `{"areaM2": "0/24"}`. */
export const fieldFill = (
  listings: ReadonlyArray<Listing>,
  fields: ReadonlyArray<string>,
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of fields) {
    const key = LISTING_FIELD[name] ?? (name as keyof Listing)
    out[name] = `${listings.filter((l) => filled(l, key)).length}/${listings.length}`
  }
  return out
}

export const toOutput = (
  file: string,
  result: PageResult,
  fields: ReadonlyArray<string> = ADAPTER_FIELDS,
): ParseOutput => {
  if (result._tag !== "Listings") {
    return {
      file,
      status: result._tag === "Empty" ? "empty" : "blocked",
      listings: [],
      invalid: [],
      skipped: { count: 0, reasons: {} },
      fields: {},
      ...(result._tag === "Blocked" ? { reason: result.reason } : {}),
    }
  }
  return {
    file,
    status: "listings",
    listings: result.listings,
    invalid: result.invalid,
    skipped: {
      count: result.skipped,
      reasons:
        result.skippedReasons ??
        (result.skipped > 0 ? { "(no reason given)": result.skipped } : {}),
    },
    fields: fieldFill(result.listings, fields),
  }
}

/** The short report of one page, for stderr. */
export const describeOutput = (page: ParseOutput): string => {
  const lines = [
    `${page.file}: ${page.status}${page.reason === undefined ? "" : ` (${page.reason})`}`,
  ]
  if (page.status === "listings") {
    lines.push(
      `  listings ${page.listings.length}, invalid ${page.invalid.length}, skipped ${page.skipped.count}`,
    )
    for (const [reason, count] of Object.entries(page.skipped.reasons)) {
      lines.push(`  skipped ${count}: ${reason}`)
    }
    for (const card of page.invalid.slice(0, 5)) {
      lines.push(
        `  invalid #${card.index}${card.id === null ? "" : ` (${card.id})`}: ${card.reason}`,
      )
    }
    if (page.invalid.length > 5) lines.push(`  ... and ${page.invalid.length - 5} more invalid`)
    const fields = Object.entries(page.fields).map(([name, fill]) => `${name} ${fill}`)
    if (fields.length > 0) lines.push(`  fields: ${fields.join(", ")}`)
  }
  return lines.join("\n")
}

/** Runs the ops `parse` command on `argv` (without the runtime and script). */
export const parseCommand = (argv: ReadonlyArray<string>): Effect.Effect<ParseRun, UsageError> =>
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
            help: { type: "boolean", short: "h" },
          },
        }),
      catch: (e) => new UsageError({ message: e instanceof Error ? e.message : String(e) }),
    })
    if (args.values.help === true) return { _tag: "Help" } as const
    const { source, config, url, market } = args.values
    const files = args.positionals
    if (source === undefined) return yield* new UsageError({ message: "--source is required" })
    if (files.length === 0) return yield* new UsageError({ message: "the page file is missing" })
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
    const parsePage = yield* pageParser(source, config, market, url)
    const pages: Array<ParseOutput> = []
    for (const file of files) {
      const body = yield* Effect.tryPromise({
        try: () => Bun.file(file).text(),
        catch: () => new UsageError({ message: `cannot read the page file ${file}` }),
      })
      pages.push(withGroups(yield* parsePage(file, body)))
    }
    return { _tag: "Pages", pages } as const
  })

const pageParser = (
  source: "bayut" | "avito" | "html",
  config: string | undefined,
  market: string | undefined,
  url: string | undefined,
): Effect.Effect<(file: string, body: string) => Effect.Effect<ParseOutput>, UsageError> =>
  Effect.gen(function* () {
    switch (source) {
      case "bayut":
        return (file, body) =>
          Effect.succeed(
            toOutput(file, parseBayutResponse(body, { market: market ?? "dubai" }).result),
          )
      case "avito":
        return (file, body) =>
          parseAvitoPage(body, {
            market: market ?? "moscow",
            ...(url === undefined ? {} : { pageUrl: url }),
          }).pipe(Effect.map((result) => toOutput(file, result)))
      case "html": {
        if (config === undefined)
          return yield* new UsageError({ message: "--source html needs --config <file>" })
        const loaded = yield* loadHtmlSourceConfig(config).pipe(
          Effect.mapError((e) => new UsageError({ message: e.message })),
        )
        const resolved = market === undefined ? loaded : { ...loaded, market }
        const parse = htmlPageParser(resolved)
        const fields = configuredFields(resolved).filter(
          (f) => f !== "rentPeriod" && f !== "currency",
        )
        return (file, body) =>
          parse(body, url).pipe(Effect.map((result) => toOutput(file, result, fields)))
      }
    }
  })
