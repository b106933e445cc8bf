import { type FixtureResponse, FixtureSite } from "./FixtureSite.ts"

/** A listing on the fake Bayut, in the terms of the Algolia index. */
export interface FakeBayutListing {
  readonly id: string
  /** Epoch seconds. */
  readonly createdAt: number
  readonly price: number
  readonly rentFrequency?: "monthly" | "yearly" | "weekly" | "daily" | null
  readonly purpose?: "for-rent" | "for-sale"
  readonly category?: string
  readonly title?: string
  readonly rooms?: number | null
  readonly baths?: number | null
  readonly area?: number | null
  /** The level-2 location name, e.g. "Dubai Marina". */
  readonly neighbourhood?: string
  readonly furnished?: boolean | null
  /** In the API; null = the API has none (the crawler then reads the detail page). */
  readonly phone?: string | null
  /** On the listing's HTML page, as a `tel:` link. */
  readonly detailPhone?: string
  readonly photoIds?: ReadonlyArray<number>
}

const requestParams = (body: string): string => {
  try {
    return (
      (JSON.parse(body) as { requests?: Array<{ params?: string }> }).requests?.[0]?.params ?? ""
    )
  } catch {
    return ""
  }
}

/** The ids of an Algolia filter such as `externalID:"1" OR externalID:"2"` (empty: no id filter). */
const filteredIds = (filters: string): Array<string> =>
  [...filters.matchAll(/externalID:"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    (m[1] ?? "").replace(/\\(.)/g, "$1"),
  )

/** The Algolia hit for a fake listing, shaped like the captured real ones. */
export const bayutHit = (l: FakeBayutListing) => ({
  id: Number(l.id) + 1_000_000,
  externalID: l.id,
  objectID: String(Number(l.id) + 1_000_000),
  purpose: l.purpose ?? "for-rent",
  rentFrequency:
    l.purpose === "for-sale" ? null : l.rentFrequency === undefined ? "monthly" : l.rentFrequency,
  price: l.price,
  title: l.title ?? `Flat ${l.id}`,
  rooms: l.rooms === undefined ? 1 : l.rooms,
  baths: l.baths === undefined ? 1 : l.baths,
  area: l.area === undefined ? 70.5 : l.area,
  createdAt: l.createdAt,
  location: [
    { id: 1, level: 0, externalID: "5001", name: "UAE" },
    { id: 2, level: 1, externalID: "5002", name: "Dubai" },
    { id: 3, level: 2, externalID: "6000", name: l.neighbourhood ?? "Dubai Marina" },
    { id: 4, level: 3, externalID: "6001", name: `Tower ${l.id}` },
  ],
  category: [
    { id: 1, level: 0, externalID: "1", name: "Residential", slug: "residential" },
    { id: 2, level: 1, externalID: "4", name: "Apartments", slug: l.category ?? "apartments" },
  ],
  coverPhoto: { id: l.photoIds?.[0] ?? 1, url: `https://images.example.test/${l.id}.jpg` },
  photoIDs: l.photoIds ?? [Number(l.id) * 10, Number(l.id) * 10 + 1],
  permitNumber: `P-${l.id}`,
  contactName: `Agent ${l.id}`,
  agency: { name: "Fake Realty" },
  phoneNumber: l.phone === null ? null : { mobile: l.phone ?? "+971500000000", phone: null },
  furnishingStatus:
    l.furnished === true ? "furnished" : l.furnished === false ? "unfurnished" : null,
  slug: `flat-${l.id}`,
})

/**
 * For tests and benchmarks: Bayut's Algolia search API and listing pages on a local port. It
 * answers `POST /1/indexes/* /queries` like Algolia (rentals filter, `createdAt>N`, an
 * `externalID:"…" OR …` filter, newest first, paged) from `listings`, and
 * `GET /property/details-<id>.html` with a page holding the listing's `detailPhone`, and the HTML
 * search `GET /to-rent/property/dubai/[page-N/]` (its `window.state` holds the rentals' hits,
 * newest first, 24 a page, like the real page; `htmlSearchOverride` queues raw answers). `override`
 * queues raw answers (a 403, a 500, a challenge page) for the next API requests, `overridePage`
 * for the next requests of one page; `hold` keeps API requests waiting.
 */
export class FakeBayut {
  listings: Array<FakeBayutListing> = []
  private readonly overrides: Array<FixtureResponse> = []
  private readonly pageOverrides = new Map<number, Array<FixtureResponse>>()
  private gate: Promise<void> | undefined
  readonly site: FixtureSite

  private constructor() {
    this.site = FixtureSite.start()
    this.site.on("/1/indexes/*/queries", async (request) => {
      if (this.gate !== undefined) await this.gate
      const page = Number(new URLSearchParams(requestParams(request.body)).get("page") ?? "0")
      const override = this.overrides.shift() ?? this.pageOverrides.get(page)?.shift()
      return override ?? this.answer(request.body)
    })
    this.site.otherwise((request) => {
      const search = /^\/to-rent\/property\/dubai\/(?:page-(\d+)\/)?(?:\?|$)/.exec(request.path)
      if (search !== null) return this.searchPage(Number(search[1] ?? "1") - 1)
      const match = /^\/property\/details-(\w+)\.html/.exec(request.path)
      const listing = this.listings.find((l) => l.id === match?.[1])
      if (listing === undefined) return { status: 404, body: "<html><body>Not found</body></html>" }
      const tel =
        listing.detailPhone === undefined
          ? ""
          : `<a href="tel:${listing.detailPhone}" aria-label="Call">Call</a>`
      return {
        body: `<!DOCTYPE html><html><head><title>${listing.title ?? listing.id}</title><script>for (var i=0;i<3;i++){}</script></head><body><main><h1>${listing.title ?? listing.id}</h1><div class="agent">${tel}</div></main></body></html>`,
      }
    })
  }

  static start(): FakeBayut {
    return new FakeBayut()
  }

  get url(): string {
    return this.site.url
  }

  /** API requests so far. */
  get apiRequests(): number {
    return this.site.requestsTo("/1/indexes/*/queries").length
  }

  /** The ids asked for by each API request that filtered by `externalID` (the price watch). */
  get idQueries(): Array<Array<string>> {
    return this.site
      .requestsTo("/1/indexes/*/queries")
      .map((r) => filteredIds(new URLSearchParams(requestParams(r.body)).get("filters") ?? ""))
      .filter((ids) => ids.length > 0)
  }

  /**
   * API requests (already recorded in `site.requests`) wait without an answer until the returned
   * function is called: a request in flight, for tests of what runs meanwhile.
   */
  hold(): () => void {
    let release = () => {}
    this.gate = new Promise<void>((resolve) => {
      release = resolve
    })
    return () => {
      this.gate = undefined
      release()
    }
  }

  /** The next API requests get these answers, in order, before normal service resumes. */
  override(...responses: ReadonlyArray<FixtureResponse>): void {
    this.overrides.push(...responses)
  }

  /** The next requests for page `page` (0-based) get these answers, in order. */
  overridePage(page: number, ...responses: ReadonlyArray<FixtureResponse>): void {
    this.pageOverrides.set(page, [...(this.pageOverrides.get(page) ?? []), ...responses])
  }

  /** Raw answers for the next HTML search page requests (a challenge page, a 500). */
  readonly htmlSearchOverrides: Array<FixtureResponse> = []

  /** HTML search page requests so far. */
  get htmlSearchRequests(): number {
    return this.site.requests.filter((r) => r.path.startsWith("/to-rent/property/dubai/")).length
  }

  private searchPage(page: number): FixtureResponse {
    const override = this.htmlSearchOverrides.shift()
    if (override !== undefined) return override
    const perPage = 24
    const rentals = this.listings
      .filter((l) => (l.purpose ?? "for-rent") === "for-rent")
      .sort((a, b) => b.createdAt - a.createdAt)
    const hits = rentals.slice(page * perPage, (page + 1) * perPage).map(bayutHit)
    const state = {
      idle: true,
      algolia: {
        appId: "FAKEAPPID",
        apiKey: "REDACTED",
        indexName: "bayut-production-ads-en",
        content: {
          hits,
          nbHits: rentals.length,
          nbPages: Math.ceil(rentals.length / perPage),
          hitsPerPage: perPage,
        },
      },
      property: { data: null },
    }
    // Like the real page: the state is a script assignment near the end of the body.
    return {
      body: `<!DOCTYPE html><html><head><title>Properties for rent in Dubai</title></head><body><div id="body">${hits.map((h) => `<article aria-label="Listing">${h.title}</article>`).join("")}</div><script>window.state = ${JSON.stringify(state)};\nwindow.webpackBundles = {};</script></body></html>`,
    }
  }

  private answer(body: string): FixtureResponse {
    const params = new URLSearchParams(requestParams(body))
    const page = Number(params.get("page") ?? "0")
    const perPage = Number(params.get("hitsPerPage") ?? "25")
    const after = Number(/createdAt>(\d+)/.exec(params.get("numericFilters") ?? "")?.[1] ?? "0")
    const filters = params.get("filters") ?? ""
    const rentalsOnly = filters.includes("for-rent")
    const ids = filteredIds(filters)
    const only = ids.length === 0 ? undefined : new Set(ids)
    const matching = this.listings
      .filter(
        (l) =>
          l.createdAt > after &&
          (!rentalsOnly || (l.purpose ?? "for-rent") === "for-rent") &&
          (only === undefined || only.has(l.id)),
      )
      .sort((a, b) => b.createdAt - a.createdAt)
    const hits = matching.slice(page * perPage, (page + 1) * perPage).map(bayutHit)
    return {
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({
        results: [
          {
            hits,
            nbHits: matching.length,
            page,
            nbPages: Math.ceil(matching.length / perPage),
            hitsPerPage: perPage,
          },
        ],
      }),
    }
  }

  stop(): void {
    this.site.stop()
  }
}
