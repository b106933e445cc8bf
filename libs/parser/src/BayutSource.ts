import type { DatabaseError } from "@flatwatch/db/Database"
import {
  Duration,
  Effect,
  Either,
  Metric,
  Option,
  type ParseResult,
  Redacted,
  Schema,
} from "effect"
import { Fetcher, type FetchOptions, isWallPage } from "./Fetcher.ts"
import { cut, withDocument } from "./HtmlDocument.ts"
import {
  type Candidate,
  cleanText,
  formatIssues,
  type Listing,
  monthlyPrice,
  PageResult,
  RentPeriod,
  unrecognisedPage,
  validateCandidates,
} from "./Listing.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import {
  type Crawl,
  CrawlAccumulator,
  type CrawlContext,
  type CrawlInvalid,
  type Recheck,
  type Source,
} from "./Source.ts"

export const BAYUT_SITE = "https://www.bayut.com"
const SQFT_TO_M2 = 0.09290304

// ---------------------------------------------------------------------------------------------
// The API shapes. Only what is read is declared; everything else is ignored.

const Str = Schema.NullishOr(Schema.String)
const Num = Schema.NullishOr(Schema.Number)

/** A hit of Bayut's Algolia index (`hits[]`). */
const AlgoliaHit = Schema.Struct({
  externalID: Schema.Union(Schema.String, Schema.Number),
  purpose: Schema.String,
  rentFrequency: Str,
  price: Schema.Number,
  title: Schema.String,
  description: Str,
  rooms: Num,
  baths: Num,
  /** Square metres. */
  area: Num,
  createdAt: Schema.Number,
  location: Schema.Array(Schema.Struct({ level: Schema.Number, name: Schema.String })),
  category: Schema.Array(Schema.Struct({ slug: Schema.String, level: Num })),
  coverPhoto: Schema.NullishOr(Schema.Struct({ id: Num, url: Str })),
  photoIDs: Schema.NullishOr(Schema.Array(Schema.Number)),
  permitNumber: Str,
  contactName: Str,
  agency: Schema.NullishOr(Schema.Struct({ name: Str })),
  phoneNumber: Schema.NullishOr(Schema.Struct({ mobile: Str, phone: Str })),
  furnishingStatus: Str,
  slug: Str,
})
type AlgoliaHit = typeof AlgoliaHit.Type

/** A listing of the newer (2025) API shape (`results[]`). */
const V2Result = Schema.Struct({
  id: Schema.Union(Schema.String, Schema.Number),
  title: Schema.String,
  purpose: Schema.String,
  /** Not in the captured sample (all sale): read when present, else the listing is invalid. */
  rent_frequency: Str,
  type: Schema.NullishOr(Schema.Struct({ main: Str, sub: Str })),
  price: Schema.Number,
  area: Schema.NullishOr(Schema.Struct({ built_up: Num, unit: Str })),
  details: Schema.NullishOr(
    Schema.Struct({
      bedrooms: Num,
      bathrooms: Num,
      is_furnished: Schema.NullishOr(Schema.Boolean),
    }),
  ),
  location: Schema.NullishOr(
    Schema.Struct({
      community: Schema.NullishOr(Schema.Struct({ name: Str })),
      sub_community: Schema.NullishOr(Schema.Struct({ name: Str })),
      cluster: Schema.NullishOr(Schema.Struct({ name: Str })),
    }),
  ),
  agency: Schema.NullishOr(Schema.Struct({ name: Str })),
  agent: Schema.NullishOr(
    Schema.Struct({
      name: Str,
      contact: Schema.NullishOr(Schema.Struct({ mobile: Str, phone: Str })),
    }),
  ),
  media: Schema.NullishOr(
    Schema.Struct({ cover_photo: Str, photos: Schema.NullishOr(Schema.Array(Schema.String)) }),
  ),
  legal: Schema.NullishOr(Schema.Struct({ permit_number: Str })),
  meta: Schema.NullishOr(Schema.Struct({ created_at: Str, url: Str })),
})
type V2Result = typeof V2Result.Type

const AlgoliaResult = Schema.Struct({
  hits: Schema.Array(Schema.Unknown),
  nbHits: Schema.optional(Schema.Number),
  page: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  nbPages: Schema.optionalWith(Schema.Number, { default: () => 1 }),
})
const Envelope = Schema.Union(
  AlgoliaResult,
  /** The multi-query endpoint: one result per query. */
  Schema.Struct({ results: Schema.Tuple(AlgoliaResult) }),
  Schema.Struct({
    results: Schema.Array(Schema.Unknown),
    count: Schema.Number,
    page: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  }),
)
const decodeEnvelope = Schema.decodeUnknownEither(Schema.parseJson(Envelope))
const decodeHit = Schema.decodeUnknownEither(AlgoliaHit)
const decodeV2 = Schema.decodeUnknownEither(V2Result)

// ---------------------------------------------------------------------------------------------
// Normalisation

const PERIODS: Record<string, RentPeriod> = {
  monthly: "monthly",
  yearly: "yearly",
  weekly: "weekly",
  daily: "daily",
}
const isRentPeriod = Schema.is(RentPeriod)

const COMMERCIAL = /commercial|office|shop|retail|warehouse|industrial|showroom|labour|factory/i

const photoUrl = (id: number) => `https://images.bayut.com/thumbnails/${id}-800x600.jpeg`

interface BayutOptions {
  readonly source: string
  readonly market: string
  /** Where listing pages live (listing URLs). */
  readonly siteUrl: string
}

type Read =
  | { readonly _tag: "Candidate"; readonly candidate: Candidate }
  | { readonly _tag: "Skipped" }

const fromHit = (hit: AlgoliaHit, options: BayutOptions): Read => {
  if (hit.purpose !== "for-rent") return { _tag: "Skipped" }
  if (hit.category.some((c) => COMMERCIAL.test(c.slug))) return { _tag: "Skipped" }
  const id = String(hit.externalID)
  const period =
    hit.rentFrequency === null || hit.rentFrequency === undefined
      ? undefined
      : PERIODS[hit.rentFrequency]
  if (period === undefined) {
    return {
      _tag: "Candidate",
      candidate: { ok: false, id, reason: `unknown rent frequency: ${String(hit.rentFrequency)}` },
    }
  }
  const byLevel = [...hit.location].sort((a, b) => a.level - b.level)
  const neighbourhood = byLevel.find((l) => l.level === 2)?.name ?? null
  const photos = [
    ...(hit.photoIDs ?? []).map(photoUrl),
    ...(hit.photoIDs?.length ? [] : [hit.coverPhoto?.url ?? null]),
  ].filter((p): p is string => typeof p === "string" && p.length > 0)
  const phone = cleanText(hit.phoneNumber?.mobile) ?? cleanText(hit.phoneNumber?.phone)
  return {
    _tag: "Candidate",
    candidate: {
      ok: true,
      id,
      value: {
        source: options.source,
        externalId: id,
        market: options.market,
        url: `${options.siteUrl}/property/details-${id}.html`,
        title: cleanText(hit.title) ?? "",
        description: cleanText(hit.description),
        price: monthlyPrice(hit.price, period),
        priceOriginal: Math.round(hit.price),
        rentPeriod: period,
        currency: "AED",
        rooms: hit.rooms ?? null,
        baths: hit.baths ?? null,
        areaM2: hit.area === null || hit.area === undefined ? null : Math.round(hit.area * 10) / 10,
        neighbourhood,
        // Mapped from neighbourhood and address with the market's groups (ListingGroups).
        districtGroups: [],
        address: cleanText(
          byLevel
            .filter((l) => l.level >= 2)
            .map((l) => l.name)
            .reverse()
            .join(", "),
        ),
        furnished:
          hit.furnishingStatus === "furnished"
            ? true
            : hit.furnishingStatus === "unfurnished"
              ? false
              : null,
        photos,
        agentName: cleanText(hit.contactName),
        agencyName: cleanText(hit.agency?.name),
        agentPhone: phone,
        permitNumber: cleanText(hit.permitNumber),
        postedAt: new Date(hit.createdAt * 1000),
        postedText: null,
        raw: { shape: "algolia", createdAt: hit.createdAt, slug: hit.slug ?? null },
      },
    },
  }
}

/** "2025-11-28 14:04:18" (the v2 API's format; taken as UTC). */
const v2Date = (text: string | null | undefined): Date | null => {
  if (text === null || text === undefined) return null
  const date = new Date(`${text.trim().replace(" ", "T")}Z`)
  return Number.isNaN(date.getTime()) ? null : date
}

const fromV2 = (result: V2Result, options: BayutOptions): Read => {
  if (result.purpose !== "for-rent") return { _tag: "Skipped" }
  if (COMMERCIAL.test(result.type?.main ?? "") || COMMERCIAL.test(result.type?.sub ?? "")) {
    return { _tag: "Skipped" }
  }
  const id = String(result.id)
  const postedAt = v2Date(result.meta?.created_at)
  const frequency = result.rent_frequency ?? undefined
  if (frequency === undefined || !isRentPeriod(frequency)) {
    return {
      _tag: "Candidate",
      candidate: { ok: false, id, reason: `unknown rent frequency: ${String(frequency)}` },
    }
  }
  const area = result.area?.built_up
  const areaM2 =
    area === null || area === undefined
      ? null
      : Math.round((result.area?.unit === "sqft" ? area * SQFT_TO_M2 : area) * 10) / 10
  const community = cleanText(result.location?.community?.name)
  const sub = cleanText(result.location?.sub_community?.name)
  const cover = cleanText(result.media?.cover_photo)
  const photos = result.media?.photos?.length
    ? [...result.media.photos]
    : cover === null
      ? []
      : [cover]
  return {
    _tag: "Candidate",
    candidate: {
      ok: true,
      id,
      value: {
        source: options.source,
        externalId: id,
        market: options.market,
        url: cleanText(result.meta?.url) ?? `${options.siteUrl}/property/details-${id}.html`,
        title: cleanText(result.title) ?? "",
        description: null,
        price: monthlyPrice(result.price, frequency),
        priceOriginal: Math.round(result.price),
        rentPeriod: frequency,
        currency: "AED",
        rooms: result.details?.bedrooms ?? null,
        baths: result.details?.bathrooms ?? null,
        areaM2,
        neighbourhood: community,
        districtGroups: [],
        address: cleanText(
          [cleanText(result.location?.cluster?.name), sub, community]
            .filter((n) => n !== null)
            .join(", "),
        ),
        furnished: result.details?.is_furnished ?? null,
        photos,
        agentName: cleanText(result.agent?.name),
        agencyName: cleanText(result.agency?.name),
        agentPhone:
          cleanText(result.agent?.contact?.mobile) ?? cleanText(result.agent?.contact?.phone),
        permitNumber: cleanText(result.legal?.permit_number),
        postedAt,
        postedText: null,
        raw: { shape: "v2", createdAt: result.meta?.created_at ?? null },
      },
    },
  }
}

/** Block pages of the usual bot walls (an API answering HTML is never a result page). */
const CHALLENGE =
  /captcha|challenge|are you a (?:human|robot)|access denied|pardon our interruption|request unsuccessful|incapsula|perimeterx|_pxhd|verify you are human/i

export interface BayutPage {
  readonly result: PageResult
  /** Whether the API has more pages after this one. */
  readonly hasMore: boolean
  /**
   * Set when the answer is not a search result at all (HTML that is no challenge, broken or
   * truncated JSON, another shape): why. `result` then holds no listings and this reason as its
   * one invalid entry. A crawl must not take such a page as the end of the results.
   */
  readonly unrecognised?: string
}

const unrecognised = (reason: string): BayutPage => ({
  hasMore: false,
  unrecognised: reason,
  result: unrecognisedPage(reason),
})

/**
 * Parses one Bayut API answer (pure): the Algolia search result (`hits[]`, single or multi-query
 * envelope) or the newer `results[]` shape. Rentals only: sale hits and office/commercial
 * categories are skipped (counted, not errors); prices are normalised to monthly; studios have
 * rooms 0; areas are m²; the address is the location path the district groups are mapped from.
 */
export const parseBayutResponse = (
  body: string,
  options: Partial<BayutOptions> = {},
): BayutPage => {
  const opts: BayutOptions = {
    source: options.source ?? "bayut",
    market: options.market ?? "dubai",
    siteUrl: options.siteUrl ?? BAYUT_SITE,
  }
  const trimmed = body.trimStart()
  if (trimmed.startsWith("<")) {
    return CHALLENGE.test(trimmed.slice(0, 200_000))
      ? {
          hasMore: false,
          result: PageResult.Blocked({ reason: "Bayut answered with a bot challenge page" }),
        }
      : unrecognised("Bayut answered HTML instead of JSON")
  }
  const envelope = decodeEnvelope(body)
  if (Either.isLeft(envelope)) {
    return unrecognised(`unrecognised response: ${formatIssues(envelope.left).slice(0, 500)}`)
  }
  const env = envelope.right
  const algolia = "hits" in env ? env : "count" in env ? null : env.results[0]
  let reads: Array<Read>
  let hasMore: boolean
  if (algolia !== null) {
    if (algolia.hits.length === 0) return { hasMore: false, result: PageResult.Empty() }
    hasMore = algolia.page + 1 < algolia.nbPages
    reads = algolia.hits.map((raw): Read => {
      const hit = decodeHit(raw)
      return Either.isRight(hit) ? fromHit(hit.right, opts) : invalidRead(raw, hit.left)
    })
  } else if ("count" in env) {
    if (env.results.length === 0) return { hasMore: false, result: PageResult.Empty() }
    hasMore = (env.page + 1) * env.results.length < env.count
    reads = env.results.map((raw): Read => {
      const result = decodeV2(raw)
      return Either.isRight(result) ? fromV2(result.right, opts) : invalidRead(raw, result.left)
    })
  } else {
    return { hasMore: false, result: PageResult.Empty() }
  }
  const candidates = reads.flatMap((r) => (r._tag === "Candidate" ? [r.candidate] : []))
  const skipped = reads.length - candidates.length
  return { hasMore, result: validateCandidates(candidates, skipped) }
}

const invalidRead = (raw: unknown, error: ParseResult.ParseError): Read => ({
  _tag: "Candidate",
  candidate: { ok: false, id: rawId(raw), reason: formatIssues(error) },
})

const rawId = (raw: unknown): string | null => {
  if (typeof raw !== "object" || raw === null) return null
  const r = raw as Record<string, unknown>
  const id = r.externalID ?? r.id
  return typeof id === "string" || typeof id === "number" ? String(id) : null
}

/** The agent's phone from a listing's HTML page (`tel:` links), parsed with happy-dom. */
export const parseBayutDetailPhone = (html: string): Effect.Effect<string | null> => {
  const page = cut(html, { keep: ['a[href^="tel:"]'] })
  if (page.kept === 0) return Effect.succeed(null)
  return withDocument(page.html, (document) => {
    for (const link of document.querySelectorAll('a[href^="tel:"]')) {
      const number = cleanText(decodeURIComponent(link.getAttribute("href") ?? "").slice(4))
      if (number !== null && /\d{5,}/.test(number.replace(/\D/g, ""))) return number
    }
    return null
  })
}

// ---------------------------------------------------------------------------------------------
// The crawl

export interface BayutConfig {
  readonly id: string
  readonly market: string
  /** The Algolia host (`https://<APPID>-dsn.algolia.net` unless overridden). */
  readonly apiUrl: string
  readonly appId: string
  readonly apiKey: Redacted.Redacted<string>
  readonly index: string
  /** Listing pages (URLs and detail pages). */
  readonly siteUrl: string
  readonly hitsPerPage: number
  readonly maxPages: number
  /** Read again this far below the cursor (late indexing); duplicates are harmless. */
  readonly overlap: Duration.Duration
  /** With no cursor yet (first run), look back this far. */
  readonly initialLookback: Duration.Duration
  /** Fetch the HTML page of new listings that have no phone in the API. */
  readonly detailPages: boolean
  readonly detailConcurrency: number
  /** Listings asked for per API request by the price watch (`recheck`); default 50. */
  readonly watchBatchSize?: number
  readonly fetch: FetchOptions
}

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

const crawlBayut =
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
      for (let page = 0; page < config.maxPages; page++) {
        // Under `fetch: browser | auto` the POST runs inside a page of the site (its session).
        const fetched = yield* Effect.either(
          fetcher.fetchPage(
            algoliaRequest(config, bayutQuery(config, page, after)),
            config.fetch,
            (response) =>
              Effect.sync(() =>
                parseBayutResponse(response.body, {
                  source: config.id,
                  market: config.market,
                  siteUrl: config.siteUrl,
                }),
              ),
            (parsed) => isWallPage(parsed.result),
          ),
        )
        if (fetched._tag === "Left") {
          const e = fetched.left
          return acc.result(e.reason === "Blocked" ? "blocked" : "failed", {
            error: `${e.message} (${e.url})`,
          })
        }
        acc.pages++
        yield* Metric.increment(ParserMetrics.pages(config.id))
        const parsed = fetched.right.page
        if (parsed.result._tag === "Blocked") {
          return acc.result("blocked", { error: parsed.result.reason })
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
      if (!complete) {
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
      })
    })

/** Fills in the agent phone of new listings that lack it, from their HTML pages; best effort. */
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
          Effect.flatMap((response) => parseBayutDetailPhone(response.body)),
          Effect.tap((phone) =>
            Option.match(Option.fromNullable(phone), {
              onNone: () => Effect.void,
              onSome: (agentPhone) =>
                Effect.sync(() => acc.listings.set(listing.externalId, { ...listing, agentPhone })),
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
const recheckBayut =
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

/** The Bayut source (Dubai rentals) over its Algolia search API. */
export const bayutSource = (config: BayutConfig): Source => ({
  id: config.id,
  market: config.market,
  parse: (body: string) =>
    Effect.succeed(
      parseBayutResponse(body, {
        source: config.id,
        market: config.market,
        siteUrl: config.siteUrl,
      }).result,
    ),
  crawl: crawlBayut(config),
  recheck: recheckBayut(config),
})
