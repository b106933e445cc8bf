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

describeShared("example configs on the real pages (no site-specific code)", () => {
  test("DOM.RIA: 20 listings, the new-build promos left out", async () => {
    const config = await load("sources/domria.json")
    const page = listings(await parseWith(config, await sharedFixture("domria/serp_page.html")))
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

  test("Kleinanzeigen: 27 listings with German number formats", async () => {
    const config = await load("sources/kleinanzeigen.json")
    const page = listings(
      await parseWith(config, await sharedFixture("kleinanzeigen/serp_page.html")),
    )
    expect(page.listings).toHaveLength(27)
    expect(page.invalid).toEqual([])
    for (const l of page.listings) {
      expect(l.url).toStartWith("https://www.kleinanzeigen.de/s-anzeige/")
      expect(l.url).toContain(l.externalId)
      expect(l.price).toBeGreaterThan(0)
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
    // "285.000 € (old price 319.000 €)": the current price.
    expect(page.listings.find((l) => l.externalId === "3464838648")?.price).toBe(285000)
  })
})
