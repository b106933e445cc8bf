import type { DatabaseError } from "@flatwatch/db/Database"
import { Duration, Effect, Metric, Option, Redacted } from "effect"
import { parseBayutDetail } from "./BayutPage.ts"
import { type BayutConfig, type BayutHtmlSearch, parseBayutResponse } from "./BayutSource.ts"
import { Fetcher, isWallPage } from "./Fetcher.ts"
import type { Listing } from "./Listing.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import {
  type Crawl,
  CrawlAccumulator,
  type CrawlContext,
  type CrawlInvalid,
  type Recheck,
} from "./Source.ts"

/**
 * Bayut's runs: the crawl over the Algolia search API (newest first, above the cursor), with the
 * site's own HTML search page as the fallback when the API answers with a block, and the price
 * watch's re-read of known listings by id.
 */

const DEFAULT_WATCH_BATCH = 50

/** The Algolia query for one page: rentals created after `after` (epoch seconds), newest first. */
export const bayutQuery = (config: BayutConfig, page: number, after: number) => {
  const params = new URLSearchParams({
    query: "",
    hitsPerPage: String(config.hitsPerPage),
    page: String(page),
    filters: 'purpose:"for-rent"',
    numericFilters: `createdAt>${after}`,
  })
  return JSON.stringify({ requests: [{ indexName: config.index, params: params.toString() }] })
}

/** A value in an Algolia filter expression: always quoted, quotes and backslashes escaped. */
const filterValue = (value: string) => `"${value.replace(/["\\]/g, "\\$&")}"`

/**
 * The Algolia query for the listings with these external ids (the price watch): one page large
 * enough to hold them all, whatever their purpose (a hit that is no longer a rental is then
 * skipped by the parser, and the listing counts as gone).
 */
export const bayutIdsQuery = (config: BayutConfig, externalIds: ReadonlyArray<string>) => {
  const params = new URLSearchParams({
    query: "",
    hitsPerPage: String(Math.max(1, externalIds.length)),
    page: "0",
    filters: externalIds.map((id) => `externalID:${filterValue(id)}`).join(" OR "),
  })
  return JSON.stringify({ requests: [{ indexName: config.index, params: params.toString() }] })
}

/** A POST to the Algolia multi-query endpoint. */
const algoliaRequest = (config: BayutConfig, body: string) => ({
  url: `${config.apiUrl}/1/indexes/*/queries`,
  method: "POST" as const,
  headers: {
    "content-type": "application/json",
    "x-algolia-application-id": config.appId,
    "x-algolia-api-key": Redacted.value(config.apiKey),
  },
  body,
})

export const crawlBayut =
  (config: BayutConfig) =>
  (context: CrawlContext): Effect.Effect<Crawl, DatabaseError, Fetcher> =>
    Effect.gen(function* () {
      const fetcher = yield* Fetcher
      const acc = new CrawlAccumulator()
      const cursor = context.cursor === null ? null : Number(context.cursor)
      const after =
        cursor !== null && Number.isFinite(cursor)
          ? Math.floor(cursor - Duration.toSeconds(config.overlap))
          : Math.floor((context.now - Duration.toMillis(config.initialLookback)) / 1000)
      let complete = false
      let blocked: string | null = null
      for (let page = 0; page < config.maxPages; page++) {
        // Under `fetch: browser | auto` the POST runs inside a page of the site (its session).
        const fetched = yield* Effect.either(
          fetcher.fetchPage(
            algoliaRequest(config, bayutQuery(config, page, after)),
            config.fetch,
            (response) => Effect.sync(() => parseBayutResponse(response.body, options(config))),
            (parsed) => isWallPage(parsed.result),
          ),
        )
        if (fetched._tag === "Left") {
          const e = fetched.left
          if (e.reason === "Blocked") {
            blocked = `${e.message} (${e.url})`
            break
          }
          return acc.result("failed", { error: `${e.message} (${e.url})` })
        }
        acc.pages++
        yield* Metric.increment(ParserMetrics.pages(config.id))
        const parsed = fetched.right.page
        if (parsed.result._tag === "Blocked") {
          blocked = parsed.result.reason
          break
        }
        if (parsed.unrecognised !== undefined) {
          // Not the end of the results, just an answer we cannot read (a proxy's page, a body
          // cut short): the run fails and the cursor stays, so the next run reads it again.
          return acc.result("failed", { error: `page ${page}: ${parsed.unrecognised}` })
        }
        if (parsed.result._tag === "Empty") {
          acc.empty++
          complete = true
          break
        }
        acc.add(parsed.result)
        if (!parsed.hasMore) {
          complete = true
          break
        }
      }
      let via: string | undefined
      if (blocked !== null) {
        if (config.htmlSearch === undefined) return acc.result("blocked", { error: blocked })
        yield* Effect.logWarning(
          `the Algolia API answered with a block (${blocked}); reading Bayut's HTML search page instead`,
        )
        via = VIA_HTML
        const html = yield* readSearchPages(config, config.htmlSearch, acc, after)
        if (html.stopped !== null) {
          return acc.result(html.stopped.outcome, {
            error: `API blocked (${blocked}); HTML search page: ${html.stopped.error}`,
            via,
          })
        }
        complete = html.complete
      } else if (!complete) {
        acc.errors++
        yield* Effect.logWarning(
          `more than ${config.maxPages} pages of new listings; the cursor stays until a run reads them all (raise BAYUT_MAX_PAGES)`,
        )
      }
      if (config.detailPages) yield* addPhones(config, acc, context)
      const listings = [...acc.listings.values()]
      const newest = listings.reduce(
        (max, l) =>
          Math.max(max, l.postedAt === null ? 0 : Math.floor(l.postedAt.getTime() / 1000)),
        cursor ?? 0,
      )
      const nextCursor = complete && listings.length > 0 ? String(newest) : undefined
      return acc.result(acc.listings.size === 0 && acc.empty > 0 ? "empty" : "ok", {
        cursor: nextCursor,
        via,
      })
    })

/** What `source_state.via` and /sources say while the API is blocked. */
export const VIA_HTML = "html search page (the Algolia API answered with a block)"

const options = (config: BayutConfig) => ({
  source: config.id,
  market: config.market,
  siteUrl: config.siteUrl,
})

/** Page `n` (0-based) of the HTML search: `/to-rent/property/dubai/page-2/?sort=date_desc`. */
export const bayutSearchPageUrl = (siteUrl: string, path: string, n: number): string => {
  const base = `${siteUrl.replace(/\/$/, "")}/${path.replace(/^\/|\/$/g, "")}/`
  return `${base}${n === 0 ? "" : `page-${n + 1}/`}?sort=date_desc`
}

/**
 * The fallback: Bayut's HTML search result pages, newest first (their `window.state` holds the
 * same hits as the API), until a page reaches listings at or below `after`, the last page, or
 * `maxPages`. `complete` = everything above `after` was read (the cursor may move).
 */
const readSearchPages = (
  config: BayutConfig,
  search: BayutHtmlSearch,
  acc: CrawlAccumulator,
  after: number,
) =>
  Effect.gen(function* () {
    const fetcher = yield* Fetcher
    for (let n = 0; n < search.maxPages; n++) {
      const url = bayutSearchPageUrl(config.siteUrl, search.path, n)
      const response = yield* Effect.either(fetcher.fetch({ url }, config.fetch))
      if (response._tag === "Left") {
        const e = response.left
        return {
          complete: false,
          stopped: {
            outcome: e.reason === "Blocked" ? ("blocked" as const) : ("failed" as const),
            error: `${e.message} (${e.url})`,
          },
        }
      }
      acc.pages++
      yield* Metric.increment(ParserMetrics.pages(config.id))
      const parsed = parseBayutResponse(response.right.body, options(config))
      if (parsed.result._tag === "Blocked") {
        return {
          complete: false,
          stopped: { outcome: "blocked" as const, error: parsed.result.reason },
        }
      }
      if (parsed.unrecognised !== undefined) {
        return {
          complete: false,
          stopped: { outcome: "failed" as const, error: `page ${n + 1}: ${parsed.unrecognised}` },
        }
      }
      if (parsed.result._tag === "Empty") {
        acc.empty++
        return { complete: true, stopped: null }
      }
      acc.add(parsed.result)
      const reachedCursor = parsed.result.listings.some(
        (l) => l.postedAt !== null && l.postedAt.getTime() / 1000 <= after,
      )
      // The page's state does not say which page it is: its place in the walk does.
      const more = parsed.pages === undefined ? parsed.hasMore : n + 1 < parsed.pages
      if (reachedCursor || !more) return { complete: true, stopped: null }
    }
    return { complete: false, stopped: null }
  })

/**
 * Fills in the agent phone of new listings that lack it from their HTML pages (and, when the page
 * has more photos than the API gave, all of them); best effort.
 */
const addPhones = (config: BayutConfig, acc: CrawlAccumulator, context: CrawlContext) =>
  Effect.gen(function* () {
    const missing = [...acc.listings.values()].filter((l) => l.agentPhone === null)
    if (missing.length === 0) return
    const known = yield* context.knownIds(missing.map((l) => l.externalId))
    const fetcher = yield* Fetcher
    yield* Effect.forEach(
      missing.filter((l) => !known.has(l.externalId)),
      (listing) =>
        fetcher.fetch({ url: listing.url }, config.fetch).pipe(
          Effect.flatMap((response) => parseBayutDetail(response.body)),
          Effect.tap((detail) =>
            Option.match(Option.fromNullable(detail.phone), {
              onNone: () => Effect.void,
              onSome: (agentPhone) =>
                Effect.sync(() =>
                  acc.listings.set(listing.externalId, {
                    ...listing,
                    agentPhone,
                    photos:
                      detail.photos.length > listing.photos.length ? detail.photos : listing.photos,
                  }),
                ),
            }),
          ),
          Effect.catchAll((error) =>
            Effect.sync(() => {
              acc.errors++
            }).pipe(
              Effect.zipRight(
                Effect.logWarning(`detail page of ${listing.externalId} failed: ${error.message}`),
              ),
            ),
          ),
        ),
      { concurrency: config.detailConcurrency, discard: true },
    )
  })

/**
 * The price watch's read: asks Algolia for the given listings by `externalID`, in batches of
 * `watchBatchSize`, one request after another (the Fetcher's politeness, retries and block
 * handling apply). Stops at the first blocked or failed request; what the earlier requests read
 * is kept, and only the ids of answered requests are `answered`.
 */
export const recheckBayut =
  (config: BayutConfig) =>
  (externalIds: ReadonlyArray<string>): Effect.Effect<Recheck, never, Fetcher> =>
    Effect.gen(function* () {
      const fetcher = yield* Fetcher
      const size = config.watchBatchSize ?? DEFAULT_WATCH_BATCH
      const found = new Map<string, Listing>()
      const answered: Array<string> = []
      const invalid: Array<CrawlInvalid> = []
      let requests = 0
      let errors = 0
      const result = (outcome: Recheck["outcome"], error?: string): Recheck => ({
        outcome,
        requests,
        listings: [...found.values()],
        answered,
        invalid,
        errors,
        ...(error === undefined ? {} : { error }),
      })
      for (let start = 0; start < externalIds.length; start += size) {
        const batch = externalIds.slice(start, start + size)
        const response = yield* Effect.either(
          fetcher.fetch(algoliaRequest(config, bayutIdsQuery(config, batch)), config.fetch),
        )
        if (response._tag === "Left") {
          const e = response.left
          return result(e.reason === "Blocked" ? "blocked" : "failed", `${e.message} (${e.url})`)
        }
        requests++
        const parsed = parseBayutResponse(response.right.body, {
          source: config.id,
          market: config.market,
          siteUrl: config.siteUrl,
        })
        if (parsed.result._tag === "Blocked") return result("blocked", parsed.result.reason)
        if (parsed.unrecognised !== undefined) {
          return result("failed", `request ${requests}: ${parsed.unrecognised}`)
        }
        const asked = new Set(batch)
        if (parsed.result._tag === "Listings") {
          for (const listing of parsed.result.listings) {
            if (asked.has(listing.externalId)) found.set(listing.externalId, listing)
          }
          for (const card of parsed.result.invalid) invalid.push({ ...card, page: requests })
        }
        if (parsed.hasMore) {
          // More hits than ids asked: the page may have left some of them out, so only those
          // it holds count as answered (none is taken as gone).
          errors++
          answered.push(...batch.filter((id) => found.has(id)))
          yield* Effect.logWarning(
            `an id query for ${batch.length} listings has more than one page of hits`,
          )
        } else {
          answered.push(...batch)
        }
      }
      return result("ok")
    })
