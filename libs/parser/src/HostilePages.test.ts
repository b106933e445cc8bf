/**
 * Pages that are odd but real (a stray quote, a site's own error page, a captcha script on every
 * page, a renamed key) and pages made to hurt (a megabyte of unclosed `<script`): each is read
 * for what it is, never as a wall, never as "nothing found", never for minutes.
 */
import { expect, test } from "bun:test"
import { Effect } from "effect"
import { detectWall } from "./BotWall.ts"
import { htmlPageParser } from "./HtmlSource.ts"
import { loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import { scriptTexts } from "./JsonInPage.ts"
import type { PageResult } from "./Listing.ts"
import { ownFixture, packagePath } from "./SharedFixtures.ts"

const load = (path: string) => Effect.runPromise(loadHtmlSourceConfig(packagePath(path)))
const listings = (result: PageResult) => {
  if (result._tag !== "Listings") throw new Error(`expected listings, got ${result._tag}`)
  return result
}

test("a stray quote in one card's tag loses nothing after it", async () => {
  const config = await load("fixtures/html/example.json")
  const page = (await ownFixture("html/page.html")).replace(
    'href="/ad/1">',
    'href="/ad/1" target="_blank"" title=Peter\'s>',
  )
  const result = listings(await Effect.runPromise(htmlPageParser(config)(page)))
  expect(result.listings.map((l) => l.externalId)).toEqual(["ad-1", "ad-2"])
})

test("a site renaming the key a skip rule reads: cards are not all skipped as 'not a property'", async () => {
  const config = await load("sources/propertyfinder.json")
  const page = (await ownFixture("json/propertyfinder_rent.html")).replaceAll(
    '"listing_type"',
    '"listingKind"',
  )
  const result = await Effect.runPromise(htmlPageParser(config)(page))
  const skippedAsNotProperty = Object.keys(
    result._tag === "Listings" ? (result.skippedReasons ?? {}) : {},
  ).filter((r) => r.startsWith("not a single property"))
  expect(skippedAsNotProperty).toEqual([])
  expect(result._tag === "Listings" && result.listings.length > 0).toBe(true)
})

test("a Cloudflare or DataDome site's own 503 and 429 pages are outages, not walls", () => {
  const cloudflare = `<html><head><title>Down for maintenance</title></head><body><h1>Back soon</h1>
    <script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></body></html>`
  const datadome = `<html><head><script src="https://js.datadome.co/tags.js"></script></head>
    <body>Service unavailable</body></html>`
  expect(detectWall({ status: 503, body: cloudflare })).toBeNull()
  expect(detectWall({ status: 429, body: cloudflare })).toBeNull()
  expect(detectWall({ status: 503, body: datadome })).toBeNull()
  // The same traces on a refusal are a wall.
  expect(detectWall({ status: 403, body: cloudflare })?.vendor).toBe("cloudflare")
})

test("an invisible reCAPTCHA script on an ordinary small page is no wall; a captcha page is", () => {
  const results = `<html><head><title>Keine Ergebnisse - Verified listings</title>
    <script src="https://www.google.com/recaptcha/api.js?render=KEY"></script></head>
    <body><p>Keine Treffer.</p><a href="/">Start</a> <a href="/help">Hilfe</a></body></html>`
  expect(detectWall({ status: 200, body: results })).toBeNull()
  const captcha = `<html><head><title>Are you a robot?</title></head><body>
    <form><div class="g-recaptcha" data-sitekey="KEY"></div></form></body></html>`
  expect(detectWall({ status: 200, body: captcha })?.vendor).toBe("recaptcha")
})

test("a page of a hundred thousand unclosed <script tags is read in one pass", () => {
  const hostile = `${"<script ".repeat(100_000)}<script id="s">{"a":1}</script>`
  expect(scriptTexts(hostile, "script#s", false)).toEqual(['{"a":1}'])
})
