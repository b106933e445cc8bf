import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { avitoArea, avitoRooms, largestFromSrcset, parseAvitoPage } from "./AvitoSource.ts"
import type { PageResult } from "./Listing.ts"
import { describeShared, ownFixture, sharedFixture } from "./SharedFixtures.ts"

const parse = (body: string) =>
  Effect.runPromise(
    parseAvitoPage(body, { market: "moscow", pageUrl: "https://www.avito.ru/moskva/kvartiry" }),
  )

const listings = (result: PageResult) => {
  if (result._tag !== "Listings") throw new Error(`expected listings, got ${result._tag}`)
  return result
}

describe("Avito search page (hand-written)", async () => {
  const page = listings(await parse(await ownFixture("avito/serp.html")))

  test("only cards inside the result list count; a card without a rent period is invalid", () => {
    expect(page.listings.map((l) => l.externalId)).toEqual(["5001", "5002", "5003"])
    expect(page.invalid).toEqual([
      { index: 3, id: "5004", reason: 'no rent period in the price "Цена не указана"' },
    ])
  })

  test("a studio: rooms 0, area, absolute URL, largest photo, price and currency", () => {
    expect(page.listings[0]).toMatchObject({
      url: "https://www.avito.ru/moskva/kvartiry/kvartira-studiya_25_m_512_et._5001",
      title: "Квартира-студия, 25 м², 5/12 эт.",
      rooms: 0,
      areaM2: 25,
      price: 45000,
      priceOriginal: 45000,
      rentPeriod: "monthly",
      currency: "RUB",
      address: "ул. Арбат, 10",
      photos: ["https://10.img.avito.st/image/1/large-5001"],
      postedText: "2 часа назад",
      description: "Уютная студия рядом с метро.",
      market: "moscow",
    })
  })

  test("2-к. is two rooms, 48,3 m2; a room in a shared flat has unknown rooms; per day is normalised", () => {
    expect(page.listings[1]).toMatchObject({ rooms: 2, areaM2: 48.3 })
    expect(page.listings[2]).toMatchObject({
      rooms: null,
      areaM2: 18,
      rentPeriod: "daily",
      priceOriginal: 2500,
      price: 75000,
    })
  })
})

test("sale cards (a price with no rent period) are skipped with the reason, never invalid", async () => {
  const page = listings(await parse(await ownFixture("avito/serp_sale.html")))
  expect(page.listings.map((l) => l.externalId)).toEqual(["7002"])
  expect(page.invalid).toEqual([])
  expect(page.skipped).toBe(2)
  expect(page.skippedReasons).toEqual({ "for sale (a price with no rent period)": 2 })
})

test("the nothing-found page is empty, even with suggestion cards below it", async () => {
  expect((await parse(await ownFixture("avito/void.html")))._tag).toBe("Empty")
})

test.each(["avito/blocked_ip.html", "avito/blocked_captcha.html"])(
  "%s is blocked",
  async (file) => {
    const result = await parse(await ownFixture(file))
    expect(result._tag).toBe("Blocked")
  },
)

test("a page that is none of these is reported, not passed off as empty", async () => {
  const result = listings(await parse("<html><body><h1>Новая вёрстка</h1></body></html>"))
  expect(result.listings).toEqual([])
  expect(result.invalid[0]?.reason).toContain("no result list")
})

test("rooms and area from titles", () => {
  expect(avitoRooms("Квартира-студия, 25 м², 5/12 эт.")).toBe(0)
  expect(avitoRooms("Студия, 20 м²")).toBe(0)
  expect(avitoRooms("2-к. квартира, 48,3 м², 2/2 эт.")).toBe(2)
  expect(avitoRooms("6-к. квартира, 200 м²")).toBe(6)
  expect(avitoRooms("Дом 64 м² на участке 1 сот.")).toBeNull()
  expect(avitoRooms("Комната 18 м² в 3-к., 4/9 эт.")).toBeNull()
  expect(avitoArea("Дом 336 м² на участке 6,9 сот.")).toBe(336)
  expect(avitoArea("Своб. планировка")).toBeNull()
  expect(largestFromSrcset("https://a/1 208w,https://a/2 636w, https://a/3 472w")).toBe(
    "https://a/2",
  )
})

describeShared("Avito contract (real pages)", () => {
  test("the search page yields 50 listings with id, URL, title, price and currency", async () => {
    const page = listings(
      await parse(await sharedFixture("avito/page_announcements_paginate_3.html")),
    )
    expect(page.listings).toHaveLength(50)
    expect(page.invalid).toEqual([])
    for (const l of page.listings) {
      expect(l.externalId).toMatch(/^\d+$/)
      expect(l.url).toStartWith("https://www.avito.ru/")
      expect(l.url).toContain(l.externalId)
      expect(l.title.length).toBeGreaterThan(3)
      expect(l.price).toBeGreaterThan(0)
      expect(l.currency).toBe("RUB")
      expect(l.photos[0]).toStartWith("https://")
      expect(l.postedText).not.toBeNull()
      // Every title on this page states the area ("Дом 64 м² ..."); none states a room count.
      expect(l.areaM2).toBe(avitoArea(l.title))
      expect(l.areaM2).toBeGreaterThan(0)
      expect(l.rooms).toBe(avitoRooms(l.title))
    }
    expect(page.listings[0]).toMatchObject({ externalId: "4090229142", price: 27000, areaM2: 64 })
  })

  test("the nothing-found page yields empty and zero listings", async () => {
    expect(
      (await parse(await sharedFixture("avito/page_announcements_paginate_void.html")))._tag,
    ).toBe("Empty")
  })

  test("the block page yields blocked", async () => {
    expect((await parse(await sharedFixture("avito/page_many_request_0.html")))._tag).toBe(
      "Blocked",
    )
  })
})
