import type { DatabaseError } from "@flatwatch/db/Database"
import { Effect, Metric } from "effect"
import {
  Fetcher,
  type FetchOptions,
  type FetchRequest,
  isWallPage,
  type RenderSpec,
} from "./Fetcher.ts"
import type { CutPlan } from "./HtmlDocument.ts"
import type { HtmlSourceConfig } from "./HtmlSourceConfig.ts"
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
export const pageUrl = (
  template: string,
  n: number,
  pagination: Pagination,
  /** The page number goes elsewhere (a POST body): the URL stays as it is. */
  pagedElsewhere = false,
): string | null => {
  const number = pagination.first + n
  if (template.includes("{page}")) return template.replaceAll("{page}", String(number))
  if (n === 0 || pagedElsewhere) return template
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

/**
 * What the browser waits for on a page of a source cut with `plan`: a `card` inside the kept
 * part (the result list, which a script may fill after it is there), or an empty-results marker
 * that needs no text check. Block markers are left out on purpose: a challenge page often shows
 * one while its script works, then the list.
 */
export const renderSpecFor = (plan: CutPlan, card: string): RenderSpec => ({
  waitFor: [
    ...plan.keep.map((list) => `:is(${list}) :is(${card})`),
    ...(plan.markers?.empty ?? []).filter((m) => m.text === undefined).map((m) => m.selector),
  ],
})

/**
 * What the browser waits for on a page of a config-driven source: a card (inside `list`, when
 * given) or an empty-results marker; a JSON source's `<script>`; for a JSON endpoint
 * (`"json": "response"`) the answer is data, fetched from inside a page of the site.
 */
export const renderSpecOfConfig = (config: HtmlSourceConfig): RenderSpec => {
  if (config.json === "response") return { waitFor: [], asData: true }
  if (config.json !== undefined) {
    return { waitFor: "script" in config.json ? [config.json.script] : [] }
  }
  const card = config.card ?? "*"
  const empty = config.empty.filter((m) => m.text === undefined).map((m) => m.selector)
  return {
    waitFor: [config.list === undefined ? card : `:is(${config.list}) :is(${card})`, ...empty],
  }
}

export interface HtmlListSpec {
  readonly source: string
  /** Search URLs (absolute; may contain `{page}`). */
  readonly urls: ReadonlyArray<string>
  readonly pagination: Pagination
  readonly fetch: FetchOptions
  readonly parse: (body: string, pageUrl: string) => Effect.Effect<PageResult>
  /** A JSON endpoint's request: method, headers, and a body where `{page}` is the page number. */
  readonly request?:
    | {
        readonly method: "GET" | "POST"
        readonly body?: string | undefined
        readonly headers?: Readonly<Record<string, string>> | undefined
      }
    | undefined
}

/** The request for page `n` of a search (`null`: the search has no such page). */
export const pageRequest = (
  spec: HtmlListSpec,
  template: string,
  n: number,
): FetchRequest | null => {
  const body = spec.request?.body
  const url = pageUrl(template, n, spec.pagination, body?.includes("{page}") === true)
  if (url === null) return null
  const request = spec.request
  if (request === undefined) return { url }
  return {
    url,
    method: request.method,
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(body === undefined
      ? {}
      : { body: body.replaceAll("{page}", String(spec.pagination.first + n)) }),
  }
}

/**
 * The cursor of a paged HTML search. These sources have no high-water mark: a run stops at the
 * first page that brings nothing new, so what is stored IS the cursor. A run that stored
 * listings and then failed or was blocked leaves `partial`: the next run must not stop at its
 * first page (now all known), since the pages after it were never read; it reads every page up to
 * `maxPages` and leaves `complete`.
 */
export const HtmlListCursor = { partial: "partial", complete: "complete" } as const

/**
 * One run over paged HTML searches, newest first: each URL is read page by page until a page
 * brings nothing that is not stored yet (the overlap with the last run), the site says nothing
 * matches, or `maxPages`. A block stops the whole run; listings read before it are kept (and the
 * cursor says the next run reads past them, see `HtmlListCursor`).
 */
export const crawlHtmlList =
  (spec: HtmlListSpec) =>
  (context: CrawlContext): Effect.Effect<Crawl, DatabaseError, Fetcher> =>
    Effect.gen(function* () {
      const fetcher = yield* Fetcher
      const acc = new CrawlAccumulator()
      const resume = context.cursor === HtmlListCursor.partial
      const stopped = (outcome: "blocked" | "failed", error: string) =>
        acc.result(outcome, {
          error,
          ...(acc.listings.size > 0 ? { cursor: HtmlListCursor.partial } : {}),
        })
      let sawListings = false
      for (const template of spec.urls) {
        for (let n = 0; n < spec.pagination.maxPages; n++) {
          const request = pageRequest(spec, template, n)
          if (request === null) break
          // Plain HTTP or the browser, as the source's `fetch` mode says; the parser's verdict
          // on the page is what sends a `fetch: auto` source to the browser.
          const fetched = yield* Effect.either(
            fetcher.fetchPage(
              request,
              spec.fetch,
              (response) => spec.parse(response.body, response.url),
              isWallPage,
            ),
          )
          if (fetched._tag === "Left") {
            const error = fetched.left
            return stopped(
              error.reason === "Blocked" ? "blocked" : "failed",
              `${error.message} (${error.url})`,
            )
          }
          acc.pages++
          yield* Metric.increment(ParserMetrics.pages(spec.source))
          const page = fetched.right.page
          if (page._tag === "Blocked") return stopped("blocked", page.reason)
          if (page._tag === "Empty") {
            acc.empty++
            break
          }
          const fresh = acc.add(page)
          if (page.listings.length === 0) break
          sawListings = true
          if (resume) continue
          const known = yield* context.knownIds(fresh.map((l) => l.externalId))
          if (fresh.every((l) => known.has(l.externalId))) break
        }
      }
      const outcome = !sawListings && acc.empty === spec.urls.length ? "empty" : "ok"
      return acc.result(outcome, { cursor: HtmlListCursor.complete })
    })
