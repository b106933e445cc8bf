import { describe, expect, test } from "bun:test"
import { loadMarkets } from "@flatwatch/market/Markets"
import { Duration, Effect, Redacted } from "effect"
import { bayutIdsQuery } from "./BayutCrawl.ts"
import { parseBayutDetail, parseBayutDetailPhone } from "./BayutPage.ts"
import { type BayutConfig, parseBayutResponse } from "./BayutSource.ts"
import { defaultFetchOptions } from "./Fetcher.ts"
import type { Listing } from "./Listing.ts"
import { withDistrictGroups } from "./ListingGroups.ts"
import { describeShared, ownFixture, sharedFixture } from "./SharedFixtures.ts"

const markets = await Effect.runPromise(loadMarkets())

/** The page's listings, with the district groups a run gives them (the Dubai market's mapping). */
const listingsOf = (body: string) => {
  const page = parseBayutResponse(body)
  if (page.result._tag !== "Listings") throw new Error(`expected listings, got ${page.result._tag}`)
  return {
    ...page.result,
    listings: page.result.listings.map((l) => withDistrictGroups(markets, l)),
    hasMore: page.hasMore,
  }
}

const byId = (listings: ReadonlyArray<Listing>, id: string) => {
  const found = listings.find((l) => l.externalId === id)
  if (found === undefined) throw new Error(`listing ${id} missing`)
  return found
}

describe("Bayut Algolia answer (hand-written)", async () => {
  const page = listingsOf(await ownFixture("bayut/rentals_page0.json"))

  test("rentals become listings; sale and office hits are skipped, bad hits reported", () => {
    expect(page.listings.map((l) => l.externalId)).toEqual(["1001", "1002", "1003", "1004"])
    expect(page.skipped).toBe(2)
    expect(page.invalid.map((i) => i.id)).toEqual(["1007", "1008"])
    expect(page.invalid[0]?.reason).toContain("price")
    expect(page.invalid[1]?.reason).toContain("rent frequency")
    expect(page.hasMore).toBe(true)
  })

  test("a yearly studio: rooms 0, monthly price, original price and period kept", () => {
    expect(byId(page.listings, "1001")).toMatchObject({
      rooms: 0,
      price: 7083,
      priceOriginal: 85000,
      rentPeriod: "yearly",
      currency: "AED",
      market: "dubai",
      furnished: true,
      districtGroups: ["Dubai Marina"],
      neighbourhood: "Dubai Marina",
    })
  })

  test("weekly and daily prices are normalised to monthly", () => {
    expect(byId(page.listings, "1003")).toMatchObject({ price: 13035, rentPeriod: "weekly" })
    expect(byId(page.listings, "1004")).toMatchObject({ price: 12000, rentPeriod: "daily" })
  })

  test("URL, photos, permit, agent, area, districts from the sub-neighbourhood", () => {
    expect(byId(page.listings, "1002")).toMatchObject({
      url: "https://www.bayut.com/property/details-1002.html",
      photos: [
        "https://images.bayut.com/thumbnails/700-800x600.jpeg",
        "https://images.bayut.com/thumbnails/701-800x600.jpeg",
      ],
      permitNumber: "PERMIT-1002",
      agentName: "Agent A",
      agencyName: "Agency A",
      agentPhone: "+971500000001",
      areaM2: 55.7,
      furnished: false,
      neighbourhood: "The Lagoons",
      districtGroups: ["Creek Harbour"],
      address: "Dubai Creek Harbour, The Lagoons",
      postedAt: new Date(1700000800 * 1000),
    })
  })

  test("no phone in the API: none (the crawler then reads the detail page); unknown furnishing is null", () => {
    expect(byId(page.listings, "1003")).toMatchObject({ agentPhone: null, furnished: null })
  })
})

test("the newer API shape: rentals parsed (sqft to m2, community to groups), sale skipped", async () => {
  const page = listingsOf(await ownFixture("bayut/v2_rentals.json"))
  expect(page.skipped).toBe(1)
  expect(page.listings).toHaveLength(1)
  expect(page.listings[0]).toMatchObject({
    externalId: "2001",
    price: 8000,
    priceOriginal: 96000,
    rentPeriod: "yearly",
    rooms: 1,
    baths: 2,
    areaM2: 69.7,
    furnished: true,
    neighbourhood: "Dubai Sports City",
    districtGroups: ["Dubai Production City + Sport City + Motor City"],
    permitNumber: "7100000001",
    url: "https://www.bayut.com/property/details-2001.html",
    agentPhone: "+971500000002",
    postedAt: new Date("2025-12-10T11:38:48Z"),
  })
  expect(page.hasMore).toBe(false)
})

test("a challenge page instead of JSON: blocked, not 0 listings", async () => {
  const page = parseBayutResponse(await ownFixture("bayut/challenge.html"))
  expect(page.result._tag).toBe("Blocked")
})

test("no hits: empty, not blocked", async () => {
  const page = parseBayutResponse(await ownFixture("bayut/empty.json"))
  expect(page.result._tag).toBe("Empty")
  expect(page.unrecognised).toBeUndefined()
})

test("JSON of another shape, truncated JSON, garbage, an HTML error page: unrecognised, never empty", () => {
  for (const [body, reason] of [
    [`{"message":"index does not exist"}`, "unrecognised response"],
    [`{"results":[{"hits":[{"externalID":"1","pur`, "unrecognised response: JSON Parse error"],
    ["\u0000\u0001garbage", "unrecognised response"],
    ["", "unrecognised response"],
    ["<html><body><h1>502 Bad Gateway</h1></body></html>", "Bayut answered HTML instead of JSON"],
  ] as const) {
    const page = parseBayutResponse(body)
    expect(page.unrecognised).toStartWith(reason)
    expect(page.hasMore).toBe(false)
    if (page.result._tag !== "Listings") throw new Error(`${body}: ${page.result._tag}`)
    expect(page.result.listings).toHaveLength(0)
    expect(page.result.invalid).toEqual([{ index: 0, id: null, reason: page.unrecognised ?? "" }])
  }
})

test("detail page: the agent phone from the tel: link, past a script with i<3", async () => {
  const phone = await Effect.runPromise(
    parseBayutDetailPhone(await ownFixture("bayut/detail.html")),
  )
  expect(phone).toBe("+971501234567")
  expect(
    await Effect.runPromise(parseBayutDetailPhone("<html><body>no phone</body></html>")),
  ).toBeNull()
})

const idsQueryParams = (ids: ReadonlyArray<string>) => {
  const config: BayutConfig = {
    id: "bayut",
    market: "dubai",
    apiUrl: "http://127.0.0.1:9",
    appId: "APP",
    apiKey: Redacted.make("key"),
    index: "bayut-production-ads-en",
    siteUrl: "https://www.bayut.com",
    hitsPerPage: 25,
    maxPages: 1,
    overlap: Duration.minutes(10),
    initialLookback: Duration.hours(1),
    detailPages: false,
    detailConcurrency: 1,
    fetch: defaultFetchOptions("bayut"),
  }
  const body = JSON.parse(bayutIdsQuery(config, ids)) as {
    requests: Array<{ indexName: string; params: string }>
  }
  expect(body.requests).toHaveLength(1)
  expect(body.requests[0]?.indexName).toBe("bayut-production-ads-en")
  return new URLSearchParams(body.requests[0]?.params)
}

test("the price watch's query: the listings by externalID, quoted, all on one page", () => {
  const params = idsQueryParams(["4711777", "6342399", 'we"ird\\'])
  expect(params.get("filters")).toBe(
    'externalID:"4711777" OR externalID:"6342399" OR externalID:"we\\"ird\\\\"',
  )
  expect(params.get("hitsPerPage")).toBe("3")
  expect(params.get("page")).toBe("0")
  // No createdAt bound: a listing is found however old it is.
  expect(params.get("numericFilters")).toBeNull()
})

describeShared("Bayut contract (real captures)", () => {
  test("the id stored for a listing is the hit's externalID (a string), not its objectID: the price watch filters on it", async () => {
    const body = await sharedFixture("bayut/rent_hits_a.algolia.json")
    const hits = (JSON.parse(body) as { hits: Array<Record<string, unknown>> }).hits
    const page = listingsOf(body)
    expect(page.listings.map((l) => l.externalId)).toEqual(
      hits.map((h) => {
        expect(typeof h.externalID).toBe("string")
        expect(h.objectID).not.toBe(h.externalID)
        return String(h.externalID)
      }),
    )
  })

  test("rentals: 25 listings, monthly prices, every field a user sees", async () => {
    const page = listingsOf(await sharedFixture("bayut/rent_hits_a.algolia.json"))
    expect(page.listings).toHaveLength(25)
    expect(page.invalid).toEqual([])
    for (const l of page.listings) {
      expect(l.rentPeriod).toBe("monthly")
      expect(l.price).toBe(l.priceOriginal)
      expect(l.price).toBeGreaterThan(0)
      expect(l.url).toStartWith("https://www.bayut.com/property/details-")
      expect(l.photos.length).toBeGreaterThan(0)
      expect(l.neighbourhood).not.toBeNull()
      expect(l.areaM2).toBeGreaterThan(10)
    }
    expect(byId(page.listings, "4711777")).toMatchObject({
      price: 19950,
      rooms: 1,
      districtGroups: ["Downtown"],
      permitNumber: "DOW-29-TLDSY",
    })
    const mapped = page.listings.filter((l) => l.districtGroups.length > 0)
    expect(mapped.length).toBeGreaterThanOrEqual(23)
  })

  test("sale hits are skipped (the studio among them too)", async () => {
    const page = listingsOf(await sharedFixture("bayut/mixed_hits_b.algolia.json"))
    expect(page.listings).toHaveLength(0)
    expect(page.skipped).toBe(12)
    expect(page.invalid).toEqual([])
  })

  test("a studio (the real hit, offered for rent instead) has rooms 0", async () => {
    const real = JSON.parse(await sharedFixture("bayut/mixed_hits_b.algolia.json")) as {
      hits: Array<Record<string, unknown>>
    }
    const studio = real.hits.find((h) => h.rooms === 0)
    expect(studio).toBeDefined()
    const asRental = { ...studio, purpose: "for-rent", rentFrequency: "yearly" }
    const page = listingsOf(JSON.stringify({ hits: [asRental], nbHits: 1, page: 0, nbPages: 1 }))
    expect(page.listings).toHaveLength(1)
    expect(page.listings[0]?.rooms).toBe(0)
    expect(page.listings[0]?.price).toBe(Math.round(Number(studio?.price) / 12))
  })

  test("the newer API shape is read without errors; its sale results are skipped", async () => {
    const page = listingsOf(await sharedFixture("bayut/v2_api_response.json"))
    expect(page.skipped).toBe(11)
    expect(page.invalid).toEqual([])
  })
})

describeShared("Bayut's own HTML pages (real captures)", () => {
  test("the search page: window.state's 24 hits read like the API's", async () => {
    const result = listingsOf(await sharedFixture("bayut/search_rent_dubai_page1.html"))
    expect(result.listings).toHaveLength(24)
    expect(result.invalid).toEqual([])
    expect(result.hasMore).toBe(true)
    expect(result.listings[0]).toMatchObject({
      externalId: "7566309",
      price: 22500,
      priceOriginal: 270000,
      rentPeriod: "yearly",
      rooms: 4,
      baths: 3,
      areaM2: 272.8,
      url: "https://www.bayut.com/property/details-7566309.html",
    })
    expect(result.listings[0]?.address).toStartWith("Palmera 3")
    const studios = result.listings.filter((l) => l.rooms === 0).map((l) => [l.externalId, l.price])
    expect(studios).toEqual([
      ["7700723", 5000],
      ["7678014", Math.round(49999 / 12)],
    ])
  })

  test("the listing page: the listing itself with its phone and all 21 photos, not the recommended ones", async () => {
    const html = await sharedFixture("bayut/detail_rent_studio.html")
    const result = listingsOf(html)
    expect(result.listings.map((l) => l.externalId)).toEqual(["7517581"])
    expect(result.listings[0]).toMatchObject({
      price: 7500,
      rentPeriod: "yearly",
      rooms: 0,
      baths: 1,
      furnished: true,
      agentPhone: "+971000000000",
    })
    expect(result.listings[0]?.photos).toHaveLength(21)
    expect(result.listings[0]?.photos[0]).toBe(
      "https://images.bayut.com/thumbnails/383814560-800x600.jpeg",
    )
    const detail = await Effect.runPromise(parseBayutDetail(html))
    expect(detail.phone).toBe("+971000000000")
    expect(detail.photos).toHaveLength(21)
  })
})
