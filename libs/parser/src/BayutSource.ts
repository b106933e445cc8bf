import { type Duration, Effect, Either, type ParseResult, type Redacted, Schema } from "effect"
import { crawlBayut, recheckBayut } from "./BayutCrawl.ts"
import { bayutPageState, bayutPhotoUrl } from "./BayutPage.ts"
import { detectWall } from "./BotWall.ts"
import type { FetchOptions } from "./Fetcher.ts"
import {
  type Candidate,
  cleanText,
  formatIssues,
  monthlyPrice,
  PageResult,
  RentPeriod,
  unrecognisedPage,
  validateCandidates,
} from "./Listing.ts"
import type { Source } from "./Source.ts"

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
const decodeContent = Schema.decodeUnknownEither(Envelope)
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

const photoUrl = bayutPhotoUrl

interface BayutOptions {
  readonly source: string
  readonly market: string
  /** Where listing pages live (listing URLs). */
  readonly siteUrl: string
}

type Read =
  | { readonly _tag: "Candidate"; readonly candidate: Candidate }
  | { readonly _tag: "Skipped"; readonly reason: string; readonly id: string }

const fromHit = (hit: AlgoliaHit, options: BayutOptions): Read => {
  const id = String(hit.externalID)
  if (hit.purpose !== "for-rent") return { _tag: "Skipped", reason: `purpose ${hit.purpose}`, id }
  const commercial = hit.category.find((c) => COMMERCIAL.test(c.slug))
  if (commercial !== undefined) {
    return { _tag: "Skipped", reason: `commercial category (${commercial.slug})`, id }
  }
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
  const id = String(result.id)
  if (result.purpose !== "for-rent") {
    return { _tag: "Skipped", reason: `purpose ${result.purpose}`, id }
  }
  if (COMMERCIAL.test(result.type?.main ?? "") || COMMERCIAL.test(result.type?.sub ?? "")) {
    return {
      _tag: "Skipped",
      reason: `commercial category (${result.type?.sub ?? result.type?.main ?? ""})`,
      id,
    }
  }
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

export interface BayutPage {
  readonly result: PageResult
  /** Whether the API has more pages after this one. */
  readonly hasMore: boolean
  /** How many pages the search has, when the answer says (Algolia's `nbPages`). */
  readonly pages?: number
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
 * A bot wall (`BotWall`: a Cloudflare page, DataDome's JSON captcha answer, ...) is `Blocked`.
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
  const wall = detectWall({ body })
  if (wall !== null) {
    return {
      hasMore: false,
      result: PageResult.Blocked({ reason: `Bayut answered with a bot wall: ${wall.reason}` }),
    }
  }
  const trimmed = body.trimStart()
  if (trimmed.startsWith("<")) return fromHtml(trimmed, opts)
  const envelope = decodeEnvelope(body)
  if (Either.isLeft(envelope)) {
    return unrecognised(`unrecognised response: ${formatIssues(envelope.left).slice(0, 500)}`)
  }
  return fromEnvelope(envelope.right, opts)
}

/**
 * One of Bayut's HTML pages: a search page (its `window.state` holds the Algolia answer), a
 * listing page (the listing itself, with every photo and the agent's phone), or a bot wall.
 */
const fromHtml = (html: string, opts: BayutOptions): BayutPage => {
  const state = bayutPageState(html)
  if (state?._tag === "Search") {
    const content = decodeContent(state.content)
    if (Either.isRight(content)) return fromEnvelope(content.right, opts)
  }
  if (state?._tag === "Detail") {
    const hit = decodeHit(state.hit)
    if (Either.isLeft(hit))
      return { hasMore: false, result: readsResult([invalidRead(state.hit, hit.left)]) }
    const read = fromHit(hit.right, opts)
    if (read._tag === "Candidate" && read.candidate.ok) {
      const value = read.candidate.value as { agentPhone: string | null; photos: Array<string> }
      const more: Read = {
        _tag: "Candidate",
        candidate: {
          ...read.candidate,
          value: {
            ...value,
            agentPhone: value.agentPhone ?? state.phone,
            photos: state.photos.length > 0 ? state.photos : value.photos,
          },
        },
      }
      return { hasMore: false, result: readsResult([more]) }
    }
    return { hasMore: false, result: readsResult([read]) }
  }
  return unrecognised(
    state === null
      ? "Bayut answered HTML instead of JSON, and not a search or listing page (no window.state)"
      : "Bayut's page data (window.state) holds no search result",
  )
}

const readsResult = (reads: ReadonlyArray<Read>): PageResult =>
  validateCandidates(
    reads.map((r) => (r._tag === "Candidate" ? r.candidate : { skip: r.reason, id: r.id })),
  )

const fromEnvelope = (env: typeof Envelope.Type, opts: BayutOptions): BayutPage => {
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
  return {
    hasMore,
    result: readsResult(reads),
    ...(algolia === null ? {} : { pages: algolia.nbPages }),
  }
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

// ---------------------------------------------------------------------------------------------
// The crawl

/** Where Bayut's HTML search lives: `path` under the site (`/to-rent/property/dubai/`). */
export interface BayutHtmlSearch {
  readonly path: string
  readonly maxPages: number
}

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
  /**
   * The fallback when the API answers with a block: Bayut's own HTML search pages (their page
   * data holds the same hits). Absent = a block stays a block.
   */
  readonly htmlSearch?: BayutHtmlSearch | undefined
  /** Listings asked for per API request by the price watch (`recheck`); default 50. */
  readonly watchBatchSize?: number
  readonly fetch: FetchOptions
}

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
