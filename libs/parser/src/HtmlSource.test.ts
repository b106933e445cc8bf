import { describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import { htmlPageParser } from "./HtmlSource.ts"
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

describe("a config-driven source (hand-written page)", async () => {
  const config = await load("fixtures/html/example.json")
  const page = listings(await parseWith(config, await ownFixture("html/page.html")))

  test("cards inside the list only; fields through selectors and transforms", () => {
    expect(page.listings.map((l) => l.externalId)).toEqual(["ad-1", "ad-2"])
    expect(page.listings[0]).toMatchObject({
      source: "example",
      market: "testville",
      currency: "EUR",
      url: "https://flats.example.test/ad/1",
      title: "Bright 2-room flat",
      price: 1251,
      priceOriginal: 1251,
      rooms: 2,
      areaM2: 54.5,
      address: "Altstadt",
      photos: ["https://flats.example.test/img/1.jpg"],
      postedAt: new Date("2024-05-01T10:00:00Z"),
    })
    expect(page.listings[1]).toMatchObject({
      url: "https://flats.example.test/ad/2",
      price: 780,
      rooms: 1,
    })
  })

  test("a card without a price is invalid, with the reason", () => {
    expect(page.invalid).toHaveLength(1)
    expect(page.invalid[0]).toMatchObject({ id: "ad-3" })
    expect(page.invalid[0]?.reason).toContain("price")
  })

  test("the page URL, when known, is the base for relative links", async () => {
    const result = listings(
      await parseWith(config, await ownFixture("html/page.html"), "http://127.0.0.1:9/search"),
    )
    expect(result.listings[0]?.url).toBe("http://127.0.0.1:9/ad/1")
  })

  test("empty and block markers", async () => {
    expect((await parseWith(config, await ownFixture("html/empty.html")))._tag).toBe("Empty")
    expect((await parseWith(config, await ownFixture("html/blocked.html")))._tag).toBe("Blocked")
  })

  test("an unknown page is reported as such", async () => {
    const result = listings(await parseWith(config, "<html><body>maintenance</body></html>"))
    expect(result.invalid[0]?.reason).toContain("no result list")
  })
})

describe("config validation names the field", () => {
  const base = async () =>
    JSON.parse(await Bun.file(packagePath("fixtures/html/example.json")).text())
  const problem = (json: unknown) => {
    const result = parseHtmlSourceConfig(json, "ops.json")
    if (Either.isRight(result)) throw new Error("expected the config to be rejected")
    return result.left.message
  }

  test("a missing field", async () => {
    const json = await base()
    delete json.fields.price
    expect(problem(json)).toBe("ops.json: fields.price: is missing")
  })

  test("a bad selector, a bad regex, a bad currency, an unknown key", async () => {
    const json = await base()
    json.card = "li[data-id"
    json.fields.rooms.regex = "(\\d+"
    json.currency = "euro"
    json.colour = "red"
    const message = problem(json)
    expect(message).toContain("card: is not a valid CSS selector")
    expect(message).toContain("fields.rooms.regex: is not a valid regular expression")
    expect(message).toContain("currency: must be an ISO currency code like EUR")
    expect(message).toContain("colour: is unexpected")
  })

  test("a list selector that cannot be streamed", async () => {
    const json = await base()
    json.list = "h1 + ul"
    expect(problem(json)).toContain("list: cannot be matched while streaming")
  })

  test("a bad cron pattern and a bad URL", async () => {
    const json = await base()
    json.cron = "every minute"
    json.urls = ["flats.example.test/search"]
    const message = problem(json)
    expect(message).toContain("cron: is not a cron pattern")
    expect(message).toContain("urls.0: is not an http(s) URL")
  })

  test("a file that is not JSON", async () => {
    const exit = await Effect.runPromise(
      Effect.flip(loadHtmlSourceConfig(packagePath("fixtures/html/page.html"))),
    )
    expect(exit.message).toContain("page.html: is not valid JSON")
  })
})

describe("the shipped configs on hand-written pages of another layout", () => {
  test("DOM.RIA without the #catalogResults wrapper: rentals read, sale and daily skipped, the promo left out", async () => {
    const config = await load("sources/domria.json")
    const page = listings(
      await parseWith(
        config,
        await ownFixture("html/domria_variant.html"),
        "https://dom.ria.com/uk/arenda-kvartir/vinnica/",
      ),
    )
    expect(page.listings.map((l) => l.externalId)).toEqual(["101", "103"])
    expect(page.invalid).toEqual([])
    expect(page.skippedReasons).toEqual({ "for sale": 1, "daily rent": 1 })
    expect(page.listings[0]).toMatchObject({
      url: "https://dom.ria.com/uk/realty-dolgosrochnaya-arenda-kvartira-vinnitsa-tsentr-101.html",
      title: "Центр, Соборна вулиця, 2 кім. м. Вінниця",
      price: 12000,
      rooms: 2,
      areaM2: 61.5,
      photos: ["https://cdn.riastatic.com/photos/dom/101-300x200.webp"],
      postedAt: new Date("2024-05-02"),
    })
    expect(page.listings[1]).toMatchObject({ price: 8500, rooms: 1, areaM2: 36 })
  })

  test("Kleinanzeigen without #srchrslt-adtable: the TOP ad read, the flat for sale skipped", async () => {
    const config = await load("sources/kleinanzeigen.json")
    const page = listings(
      await parseWith(config, await ownFixture("html/kleinanzeigen_variant.html")),
    )
    expect(page.listings.map((l) => l.externalId)).toEqual(["5100000001", "5100000003"])
    expect(page.skippedReasons).toEqual({ "not a rental category (196)": 1 })
    expect(page.listings[0]).toMatchObject({
      url: "https://www.kleinanzeigen.de/s-anzeige/helle-2-zimmer-wohnung-mit-balkon/5100000001-203-2100",
      price: 1150,
      rooms: 2,
      areaM2: 64.5,
      address: "40211 Pempelfort",
    })
    expect(page.listings[1]).toMatchObject({ price: 780, rooms: 1, areaM2: 31 })
  })
})

describe("per-card rules on HTML cards", () => {
  const page = `<html><body><ul class="results">
    <li class="card" data-id="1"><a href="/a/1">Flat one</a><span class="price">900 € pcm</span>
      <img data-src="https://img.example.test/1_200x150.jpg"><span class="badge">Sponsored</span></li>
    <li class="card" data-id="2"><a href="/a/2">Flat two</a><span class="price">10.800 € Yearly</span>
      <img src="https://img.example.test/2_200x150.jpg"></li>
    <li class="card" data-id="3"><a href="/a/3">Flat three</a><span class="price">250.000 € to sell</span></li>
    <li class="card" data-id="4"><a href="/a/4">Flat four</a><span class="price">700 £ pcm</span></li>
    <li class="card" data-id="5"><a href="/a/5">Flat five</a><span class="price">70 € a night</span></li>
  </ul></body></html>`
  const config = (extra: Record<string, unknown> = {}) => {
    const result = parseHtmlSourceConfig(
      {
        id: "rules",
        market: "testville",
        currency: "EUR",
        urls: ["https://flats.example.test/search"],
        list: ".results",
        card: ".card",
        skip: [{ selector: ".badge", matches: "sponsored|promoted", reason: "promoted ({value})" }],
        fields: {
          id: { attr: "data-id" },
          url: { selector: "a", attr: "href", type: "url" },
          title: { selector: "a" },
          price: { selector: ".price", regex: "([\\d.]+)", type: "number", decimal: "," },
          rentPeriod: {
            selector: ".price",
            map: { pcm: "monthly", yearly: "yearly", sell: "skip" },
          },
          currency: { selector: ".price", map: { "£": "GBP", "€": "EUR" } },
          photo: [
            {
              selector: "img",
              attr: "data-src",
              replace: { pattern: "_\\d+x\\d+", with: "_800x600" },
            },
            { selector: "img", attr: "src" },
          ],
          agencyName: { const: "Private" },
        },
        ...extra,
      },
      "rules.json",
    )
    if (Either.isLeft(result)) throw new Error(result.left.message)
    return result.right
  }

  test("skip by text, period and currency per card from pattern maps, fallbacks, rewrites, constants", async () => {
    const result = listings(await parseWith(config(), page))
    expect(result.skipped).toBe(2)
    expect(result.skippedReasons).toEqual({
      "promoted (Sponsored)": 1,
      'rent period "250.000 € to sell"': 1,
    })
    expect(result.listings.map((l) => [l.externalId, l.price, l.rentPeriod, l.currency])).toEqual([
      ["2", 900, "yearly", "EUR"],
      ["4", 700, "monthly", "GBP"],
    ])
    expect(result.listings[0]).toMatchObject({
      photos: ["https://img.example.test/2_200x150.jpg"],
      agencyName: "Private",
    })
    expect(result.invalid).toEqual([
      { index: 4, id: "5", reason: 'unknown rent period "70 € a night"' },
    ])
  })

  test("without the skip rule the promoted card is a listing, its photo rewritten", async () => {
    const result = listings(await parseWith(config({ skip: [] }), page))
    expect(result.listings[0]).toMatchObject({
      externalId: "1",
      photos: ["https://img.example.test/1_800x600.jpg"],
    })
  })
})

describeShared("the shipped configs on every saved page of their sites", () => {
  test("DOM.RIA: the saved page is a sale search: 20 cards skipped as for sale, promos left out", async () => {
    const config = await load("sources/domria.json")
    const page = listings(await parseWith(config, await sharedFixture("domria/serp_page.html")))
    expect(page.listings).toEqual([])
    expect(page.invalid).toEqual([])
    expect(page.skippedReasons).toEqual({ "for sale": 20 })
  })

  test("DOM.RIA: the same cards as rentals read every field", async () => {
    const config = await load("sources/domria.json")
    const html = (await sharedFixture("domria/serp_page.html")).replaceAll(
      "prodaja",
      "dolgosrochnaya-arenda",
    )
    const page = listings(await parseWith(config, html))
    expect(page.listings).toHaveLength(20)
    expect(page.invalid).toEqual([])
    for (const l of page.listings) {
      expect(l.url).toStartWith("https://dom.ria.com/uk/realty-")
      expect(l.url).toContain(l.externalId)
      expect(l.price).toBeGreaterThan(0)
      expect(l.rooms).toBeGreaterThan(0)
      expect(l.areaM2).toBeGreaterThan(0)
      expect(l.photos[0]).toStartWith("https://cdn")
    }
    expect(page.listings[0]).toMatchObject({
      externalId: "15556698",
      price: 24000,
      rooms: 1,
      areaM2: 44.5,
      // The district the market's groups are mapped from ("р‑н. Свердловський масив ...").
      neighbourhood: "Свердловський масив",
    })
  })

  test("Kleinanzeigen: 27 cards: 13 flats to rent read, 14 of sale categories skipped", async () => {
    const config = await load("sources/kleinanzeigen.json")
    const page = listings(
      await parseWith(config, await sharedFixture("kleinanzeigen/serp_page.html")),
    )
    expect(page.listings).toHaveLength(13)
    expect(page.invalid).toEqual([])
    expect(page.skippedReasons).toEqual({
      "not a rental category (196)": 12,
      "not a rental category (208)": 1,
      "not a rental category (402)": 1,
    })
    for (const l of page.listings) {
      expect(l.url).toStartWith("https://www.kleinanzeigen.de/s-anzeige/")
      expect(l.url).toContain(l.externalId)
      expect(l.price).toBeGreaterThan(0)
      expect(l.price).toBeLessThan(5000)
    }
    expect(page.listings[0]).toMatchObject({
      externalId: "3323958001",
      price: 1600,
      rooms: 2,
      areaM2: 89,
      // "40235 Flingern Nord (3 km)": the Ortsteil the market's groups are mapped from.
      address: "40235 Flingern Nord (3 km)",
      neighbourhood: "Flingern Nord",
    })
    for (const l of page.listings) expect(l.address).toContain(` ${l.neighbourhood} (`)
    // "285.000 € (old price 319.000 €)" is a flat for sale (category 196): skipped, not a rental.
    expect(page.listings.find((l) => l.externalId === "3464838648")).toBeUndefined()
  })
})
