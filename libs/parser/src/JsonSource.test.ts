import { afterAll, describe, expect, test } from "bun:test"
import { Duration, Effect, Either } from "effect"
import { defaultFetchOptions, Fetcher } from "./Fetcher.ts"
import { FixtureSite } from "./FixtureSite.ts"
import { htmlPageParser, htmlSource } from "./HtmlSource.ts"
import {
  type HtmlSourceConfig,
  loadHtmlSourceConfig,
  parseHtmlSourceConfig,
} from "./HtmlSourceConfig.ts"
import type { PageResult } from "./Listing.ts"
import { describeShared, ownFixture, packagePath, sharedFixture } from "./SharedFixtures.ts"

const load = (path: string) => Effect.runPromise(loadHtmlSourceConfig(packagePath(path)))
const parseWith = (config: HtmlSourceConfig, body: string, url?: string) =>
  Effect.runPromise(htmlPageParser(config)(body, url))
const listings = (result: PageResult) => {
  if (result._tag !== "Listings") throw new Error(`expected listings, got ${result._tag}`)
  return result
}
const decode = (json: unknown, path = "ops.json") => {
  const result = parseHtmlSourceConfig(json, path)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return result.right
}
const problem = (json: unknown) => {
  const result = parseHtmlSourceConfig(json, "ops.json")
  if (Either.isRight(result)) throw new Error("expected the config to be rejected")
  return result.left.message
}

describe("the shipped Property Finder config on a hand-written page", async () => {
  const config = await load("sources/propertyfinder.json")
  const page = listings(await parseWith(config, await ownFixture("json/propertyfinder_rent.html")))

  test("rentals read; the project and the sale skipped with their reasons, none invalid", () => {
    expect(page.listings.map((l) => l.externalId)).toEqual(["9001", "9002", "9004"])
    expect(page.invalid).toEqual([])
    expect(page.skipped).toBe(2)
    expect(page.skippedReasons).toEqual({
      "not a single property (listing_type project)": 1,
      'rent period "sell"': 1,
    })
  })

  test("a yearly rental: monthly price, sqft to m2, community, agent, photos, permit", () => {
    expect(page.listings[0]).toMatchObject({
      source: "propertyfinder",
      market: "dubai",
      url: "https://www.propertyfinder.ae/en/plp/rent/flat-9001.html",
      title: "Flat 9001",
      price: 10000,
      priceOriginal: 120000,
      rentPeriod: "yearly",
      currency: "AED",
      rooms: 2,
      baths: 3,
      areaM2: 107,
      neighbourhood: "Damac Lagoons",
      address: "Lagoon Views, Damac Lagoons, Dubai",
      furnished: true,
      photos: [
        "https://static.example.test/9001/0/medium.jpg",
        "https://static.example.test/9001/1/medium.jpg",
      ],
      agentName: "Agent 9001",
      agencyName: "Example Realty",
      agentPhone: "+971500000001",
      permitNumber: "RERA-9001",
      postedAt: new Date("2024-09-19T18:12:26Z"),
      districtGroups: [],
    })
  })

  test("a monthly studio in m2; 7+ bedrooms is 7; partly furnished is unknown", () => {
    expect(page.listings[1]).toMatchObject({
      rooms: 0,
      price: 8000,
      rentPeriod: "monthly",
      areaM2: 40,
      neighbourhood: "Dubai Marina",
      furnished: false,
    })
    expect(page.listings[2]).toMatchObject({ rooms: 7, baths: 7, furnished: null })
    // No location tree: the community from the full name instead (the fallback).
    expect(page.listings[2]?.neighbourhood).toBe("Jumeirah Park")
  })

  test("an empty result list is an empty page; a page without the JSON is reported", async () => {
    expect((await parseWith(config, await ownFixture("json/propertyfinder_empty.html")))._tag).toBe(
      "Empty",
    )
    const other = listings(await parseWith(config, "<html><body>maintenance</body></html>"))
    expect(other.invalid[0]?.reason).toContain("no script#__NEXT_DATA__ on the page")
    const moved = listings(
      await parseWith(
        config,
        '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}}}</script>',
      ),
    )
    expect(moved.invalid[0]?.reason).toContain(
      "the JSON has nothing at props.pageProps.searchResult.listings[*]",
    )
  })
})

describeShared("Property Finder contract (the saved buy search)", () => {
  test("a buy search: 30 entries seen, 0 rentals (25 sales and 5 projects skipped)", async () => {
    const config = await load("sources/propertyfinder.json")
    const html = await sharedFixture("propertyfinder/search_buy_uae_page1.html")
    const page = listings(await parseWith(config, html))
    expect(page.listings).toEqual([])
    expect(page.invalid).toEqual([])
    expect(page.skipped).toBe(30)
    expect(page.skippedReasons).toEqual({
      'rent period "sell"': 25,
      "not a single property (listing_type project)": 5,
    })
  })

  test("the same page with every period yearly: 25 rentals with monthly prices", async () => {
    const config = await load("sources/propertyfinder.json")
    const html = (await sharedFixture("propertyfinder/search_buy_uae_page1.html")).replaceAll(
      '"period":"sell"',
      '"period":"yearly"',
    )
    const page = listings(await parseWith(config, html))
    expect(page.listings).toHaveLength(25)
    expect(page.invalid).toEqual([])
    expect(page.skippedReasons).toEqual({ "not a single property (listing_type project)": 5 })
    expect(page.listings[0]).toMatchObject({
      externalId: "12423130",
      url: "https://www.propertyfinder.ae/en/plp/buy/apartment-for-sale-dubai-damac-lagoons-lagoon-views-12423130.html",
      price: Math.round(1978000 / 12),
      priceOriginal: 1978000,
      rentPeriod: "yearly",
      currency: "AED",
      rooms: 2,
      baths: 3,
      areaM2: Math.round(1152 * 0.09290304 * 10) / 10,
      neighbourhood: "Damac Lagoons",
      address: "Lagoon Views, Damac Lagoons, Dubai",
      agentName: "Agent 1",
      postedAt: new Date("2024-09-19T18:12:26Z"),
    })
    expect(page.listings[0]?.photos[0]).toStartWith("https://www.propertyfinder.ae/property/")
    const byId = new Map(page.listings.map((l) => [l.externalId, l]))
    expect(byId.get("12423110")).toMatchObject({ rooms: 7, price: Math.round(6200000 / 12) })
    expect(byId.get("12423127")?.rooms).toBeNull()
    // Community names as the Dubai market's file spells them (Bayut's), so groups map the same.
    expect(byId.get("12423128")?.neighbourhood).toBe("Jumeirah Village Circle (JVC)")
    expect(byId.get("12423111")?.neighbourhood).toBe("Jumeirah Lake Towers (JLT)")
    for (const l of page.listings) {
      expect(l.price).toBe(Math.round(l.priceOriginal / 12))
      expect(l.areaM2).toBeGreaterThan(0)
      expect(l.title.length).toBeGreaterThan(3)
      expect(l.photos.length).toBeGreaterThan(0)
    }
  })
})

describe("a JSON endpoint source (POST with a page in the body)", () => {
  const site = FixtureSite.start()
  afterAll(() => site.stop())
  const hit = (id: number, price: number, period = "pcm") => ({
    ref: `A${id}`,
    title: { en: `Flat ${id}`, de: `Wohnung ${id}` },
    amount: { value: price, per: period, ccy: period === "pw" ? "GBP" : "EUR" },
    actions: [
      { type: "share", href: `/share/${id}` },
      { type: "open", href: `/flat/${id}` },
    ],
    img: `https://img.example.test/${id}_200x200.jpg`,
  })
  site.on("/api/search", (request) => {
    const page = (JSON.parse(request.body) as { page: number }).page
    const data = page === 1 ? [hit(1, 1000), hit(2, 300, "pw"), hit(3, 5000, "Kauf")] : []
    return { headers: { "content-type": "application/json" }, body: JSON.stringify({ data }) }
  })
  const config = decode({
    id: "api",
    market: "testville",
    currency: "EUR",
    urls: [`${site.url}/api/search`],
    pagination: { first: 1, maxPages: 3 },
    request: {
      method: "POST",
      body: '{"page": {page}, "sort": "newest"}',
      headers: { "content-type": "application/json", "x-api-key": "public" },
    },
    json: "response",
    cards: "data[*]",
    fields: {
      id: { path: "ref" },
      url: { path: "actions[?type=open].href", type: "url" },
      title: { path: "title.en" },
      price: { path: "amount.value", type: "number" },
      rentPeriod: { path: "amount.per", map: { pcm: "monthly", pw: "weekly", kauf: "skip" } },
      currency: { path: "amount.ccy" },
      photo: { path: "img", replace: { pattern: "_\\d+x\\d+", with: "_800x600" }, type: "url" },
      description: [{ path: "summary" }, { const: "no description" }],
    },
  })

  test("pages through the endpoint; fields through filters, maps, rewrites and fallbacks", async () => {
    const source = htmlSource(config, {
      fetch: { ...defaultFetchOptions("api"), retries: 0, politeness: Duration.zero },
    })
    const crawl = await Effect.runPromise(
      source
        .crawl({ cursor: null, now: Date.now(), knownIds: () => Effect.succeed(new Set()) })
        .pipe(Effect.provide(Fetcher.Default)),
    )
    expect(site.requestsTo("/api/search").map((r) => [r.method, r.body])).toEqual([
      ["POST", '{"page": 1, "sort": "newest"}'],
      ["POST", '{"page": 2, "sort": "newest"}'],
    ])
    expect(site.requestsTo("/api/search")[0]?.headers.get("x-api-key")).toBe("public")
    expect(crawl).toMatchObject({ outcome: "ok", pages: 2, skipped: 1, invalid: [] })
    expect(crawl.listings.map((l) => [l.externalId, l.price, l.rentPeriod, l.currency])).toEqual([
      ["A1", 1000, "monthly", "EUR"],
      ["A2", 1304, "weekly", "GBP"],
    ])
    expect(crawl.listings[0]).toMatchObject({
      url: `${site.url}/flat/1`,
      title: "Flat 1",
      photos: ["https://img.example.test/1_800x600.jpg"],
      description: "no description",
    })
  })

  test("an unknown rent period is invalid, with the words the site used", async () => {
    const body = JSON.stringify({ data: [hit(7, 900, "per fortnight")] })
    const page = listings(await parseWith(config, body))
    expect(page.invalid).toEqual([
      { index: 0, id: "A7", reason: 'unknown rent period "per fortnight"' },
    ])
  })

  test("an HTML answer from a JSON endpoint is reported, not taken as empty", async () => {
    const page = listings(await parseWith(config, "<html><body>Service unavailable</body></html>"))
    expect(page.invalid[0]?.reason).toBe("the answer is HTML, not JSON")
  })
})

describe("a JSON source reading a JavaScript assignment in the page", () => {
  const config = decode({
    id: "state",
    market: "testville",
    currency: "EUR",
    rentPeriod: "monthly",
    urls: ["https://flats.example.test/search?page={page}"],
    json: { assignment: "window.__STATE__" },
    cards: "search.results[*]",
    skip: [
      { path: "promoted", equals: true, reason: "promoted" },
      { path: "price", exists: false, reason: "no price (on request)" },
    ],
    fields: {
      id: { path: "id" },
      url: { path: "links[?rel=self].href", type: "url" },
      title: [{ path: "title.de" }, { path: "title.en" }],
      price: { path: "price", type: "number" },
      rooms: { path: "facts[?k=rooms].v", type: "integer" },
      areaM2: { path: "facts[?k=area].v", type: "number" },
      photos: { path: "images[*]", type: "url" },
    },
  })
  const page = `<html><body><script>
    if (window.__STATE__ == undefined) { window.__STATE__ = null }
    window.__STATE__ = {"search":{"results":[
      {"id":1,"title":{"de":"Altbau","en":"Old flat"},"price":950,"promoted":false,
       "links":[{"rel":"next","href":"/x"},{"rel":"self","href":"/flat/1"}],
       "facts":[{"k":"rooms","v":"2"},{"k":"area","v":61.5}],"images":["/i/1a.jpg","/i/1b.jpg"]},
      {"id":2,"title":{"en":"Loft \\"}\\" style"},"price":1200,"promoted":true,"links":[]},
      {"id":3,"title":{"en":"Penthouse"},"price":null,"links":[]},
      {"id":4,"title":{"en":"Studio"},"price":700,"links":[{"rel":"self","href":"/flat/4"}],"facts":[]}
    ]}};
  </script></body></html>`

  test("cards from the assignment; skip by a value and by absence; filters, fallbacks, many photos", async () => {
    const result = listings(await parseWith(config, page))
    expect(result.skippedReasons).toEqual({ promoted: 1, "no price (on request)": 1 })
    expect(result.invalid).toEqual([])
    expect(result.listings.map((l) => l.externalId)).toEqual(["1", "4"])
    expect(result.listings[0]).toMatchObject({
      url: "https://flats.example.test/flat/1",
      title: "Altbau",
      price: 950,
      rooms: 2,
      areaM2: 61.5,
      photos: ["https://flats.example.test/i/1a.jpg", "https://flats.example.test/i/1b.jpg"],
    })
    expect(result.listings[1]).toMatchObject({ title: "Studio", rooms: null, photos: [] })
  })
})

describe("a rejected JSON config: one line naming the file and the field", () => {
  const base = {
    id: "api",
    market: "testville",
    currency: "EUR",
    urls: ["https://api.example.test/search?page={page}"],
    json: "response",
    cards: "data[*]",
    fields: {
      id: { path: "ref" },
      url: { path: "href", type: "url" },
      title: { path: "title" },
      price: { path: "price", type: "number" },
    },
  }

  test("a path with a mistake", () => {
    expect(problem({ ...base, cards: "data[" })).toBe(
      `ops.json: cards: an unclosed '[' at position 5 of "data["`,
    )
  })

  test("a selector in a JSON card, a path in an HTML card", () => {
    const json = { ...base, fields: { ...base.fields, title: { selector: "h2" } } }
    expect(problem(json)).toBe(
      "ops.json: fields.title: selector/attr read HTML cards; a JSON card uses `path`",
    )
    const { json: _json, cards: _cards, ...rest } = base
    const html = { ...rest, card: "article" }
    expect(problem(html)).toContain("ops.json: fields.id: `path` reads JSON cards")
  })

  test("a JSON source without cards; a bad pattern in a map; a skip rule without a reason", () => {
    const { cards: _cards, ...noCards } = base
    expect(problem(noCards)).toBe(
      "ops.json: cards: is missing (a JSON source needs the cards' path)",
    )
    expect(
      problem({
        ...base,
        fields: { ...base.fields, rentPeriod: { path: "p", map: { "(": "x" } } },
      }),
    ).toContain('ops.json: fields.rentPeriod.map: key "(" is not a valid regular expression')
    expect(problem({ ...base, skip: [{ path: "type", equals: "sale" }] })).toBe(
      "ops.json: skip.0.reason: is missing",
    )
  })
})
