import type { DatabaseError } from "@flatwatch/db/Database"
import { Effect, Metric } from "effect"
import { Fetcher, type FetchOptions } from "./Fetcher.ts"
import type { PageResult } from "./Listing.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import { type Crawl, CrawlAccumulator, type CrawlContext } from "./Source.ts"

/** How a paged HTML search is walked. */
export interface Pagination {
  /** Query parameter carrying the page number (ignored when the URL has a `{page}` slot). */
  readonly param?: string | undefined
  /** The number of the first page (usually 1). */
  readonly first: number
  /** Pages read per URL and run, at most. */
  readonly maxPages: number
}

/**
 * The URL of page `n` (0-based) of a search: the `{page}` slot filled, else the page parameter
 * set (the first page keeps the URL as given), else the URL itself for the first page only.
 */
export const pageUrl = (template: string, n: number, pagination: Pagination): string | null => {
  const number = pagination.first + n
  if (template.includes("{page}")) return template.replaceAll("{page}", String(number))
  if (n === 0) return template
  if (pagination.param === undefined) return null
  const url = new URL(template)
  url.searchParams.set(pagination.param, String(number))
  return url.toString()
}

/** Points `url` at `baseUrl`'s origin (tests, mirrors), keeping path and query. */
export const rebase = (url: string, baseUrl: string | undefined): string => {
  if (baseUrl === undefined) return url
  const slot = "fw-page-slot"
  const original = new URL(url.replaceAll("{page}", slot))
  const base = new URL(baseUrl)
  const rebased = `${base.origin}${base.pathname.replace(/\/$/, "")}${original.pathname}${original.search}`
  return rebased.replaceAll(slot, "{page}")
}

export interface HtmlListSpec {
  readonly source: string
  /** Search URLs (absolute; may contain `{page}`). */
  readonly urls: ReadonlyArray<string>
  readonly pagination: Pagination
  readonly fetch: FetchOptions
  readonly parse: (body: string, pageUrl: string) => Effect.Effect<PageResult>
}

/**
 * One run over paged HTML searches, newest first: each URL is read page by page until a page
 * brings nothing that is not stored yet (the overlap with the last run), the site says nothing
 * matches, or `maxPages`. A block stops the whole run; listings read before it are kept.
 */
export const crawlHtmlList =
  (spec: HtmlListSpec) =>
  (context: CrawlContext): Effect.Effect<Crawl, DatabaseError, Fetcher> =>
    Effect.gen(function* () {
      const fetcher = yield* Fetcher
      const acc = new CrawlAccumulator()
      let sawListings = false
      for (const template of spec.urls) {
        for (let n = 0; n < spec.pagination.maxPages; n++) {
          const url = pageUrl(template, n, spec.pagination)
          if (url === null) break
          const response = yield* Effect.either(fetcher.fetch({ url }, spec.fetch))
          if (response._tag === "Left") {
            const error = response.left
            return acc.result(error.reason === "Blocked" ? "blocked" : "failed", {
              error: `${error.message} (${error.url})`,
            })
          }
          acc.pages++
          yield* Metric.increment(ParserMetrics.pages(spec.source))
          const page = yield* spec.parse(response.right.body, response.right.url)
          if (page._tag === "Blocked") return acc.result("blocked", { error: page.reason })
          if (page._tag === "Empty") {
            acc.empty++
            break
          }
          const fresh = acc.add(page)
          if (page.listings.length === 0) break
          sawListings = true
          const known = yield* context.knownIds(fresh.map((l) => l.externalId))
          if (fresh.every((l) => known.has(l.externalId))) break
        }
      }
      const outcome = !sawListings && acc.empty === spec.urls.length ? "empty" : "ok"
      return acc.result(outcome)
    })
