import { afterAll, describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { Duration, Effect, Either } from "effect"
import { parseAvitoPage } from "./AvitoSource.ts"
import { parseBayutResponse } from "./BayutSource.ts"
import { detectWall, type WallVendor } from "./BotWall.ts"
import { defaultFetchOptions, Fetcher, type FetchOptions } from "./Fetcher.ts"
import { FixtureSite } from "./FixtureSite.ts"
import { htmlPageParser } from "./HtmlSource.ts"
import { loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import type { PageResult } from "./Listing.ts"
import {
  describeShared,
  ownFixture,
  packagePath,
  SHARED_FIXTURES_DIR,
  sharedFixture,
} from "./SharedFixtures.ts"

const wall = (file: string) => ownFixture(`walls/${file}`)

/** Each vendor's page (hand-written, modelled on the vendors' own), and whose it is. */
const WALLS: ReadonlyArray<readonly [string, WallVendor, string]> = [
  ["cloudflare_challenge.html", "cloudflare", "Just a moment"],
  ["cloudflare_blocked.html", "cloudflare", "Attention Required"],
  ["cloudflare_rate_limited.html", "cloudflare", "10xx"],
  ["imperva_pardon.html", "imperva", "Pardon Our Interruption"],
  ["imperva_incident.html", "imperva", "Incapsula incident ID"],
  ["datadome_captcha.html", "datadome", "captcha-delivery.com"],
  ["datadome_api.json", "datadome", "JSON answer"],
  ["perimeterx_block.html", "perimeterx", "px-captcha"],
  ["hcaptcha_page.html", "hcaptcha", "hCaptcha"],
  ["recaptcha_page.html", "recaptcha", "reCAPTCHA"],
  ["akamai_denied.html", "akamai", "Akamai"],
]

describe("detectWall: each vendor's page", () => {
  for (const [file, vendor, says] of WALLS) {
    test(`${file}: ${vendor}, with status 200, 403, 429 and 503 alike`, async () => {
      const body = await wall(file)
      for (const status of [200, 403, 429, 503]) {
        const found = detectWall({ status, body })
        expect(found?.vendor).toBe(vendor)
        expect(found?.reason).toContain(says)
      }
    })
  }

  test("a saved page (no status): the same", async () => {
    expect(detectWall({ body: await wall("cloudflare_challenge.html") })?.vendor).toBe("cloudflare")
  })
})

describe("detectWall: headers and statuses", () => {
  test("cf-mitigated: challenge is a wall whatever the status and body", () => {
    for (const status of [200, 403]) {
      expect(
        detectWall({ status, headers: new Headers({ "cf-mitigated": "challenge" }), body: "" }),
      ).toMatchObject({ vendor: "cloudflare" })
    }
  })

  test("a refusal with a vendor's headers names the vendor; a plain record works too", () => {
    const cases: ReadonlyArray<readonly [Record<string, string>, number, WallVendor]> = [
      [{ "X-DataDome": "protected" }, 403, "datadome"],
      [{ "x-dd-b": "1" }, 401, "datadome"],
      [{ "X-Iinfo": "9-48213377-0 0NNN RT(1733300000 12)" }, 403, "imperva"],
      [{ "x-cdn": "Imperva" }, 403, "imperva"],
      [{ Server: "cloudflare" }, 403, "cloudflare"],
      [{ server: "AkamaiGHost" }, 403, "akamai"],
    ]
    for (const [headers, status, vendor] of cases) {
      expect(detectWall({ status, headers, body: '{"message":"Forbidden"}' })?.vendor).toBe(vendor)
      expect(detectWall({ status, headers: new Headers(headers), body: "no" })?.vendor).toBe(vendor)
    }
  })

  test("not walls: a bare 403, a 503 or 429 through Cloudflare with an ordinary body, a vendor's headers on a 200", () => {
    expect(detectWall({ status: 403, body: "Forbidden" })).toBeNull()
    const cf = new Headers({ server: "cloudflare", "cf-ray": "8f2c1a0b9d4e7f61-FRA" })
    expect(
      detectWall({ status: 503, headers: cf, body: "<h1>Service Unavailable</h1>" }),
    ).toBeNull()
    expect(detectWall({ status: 429, headers: cf, body: "Too Many Requests" })).toBeNull()
    const dd = new Headers({ "x-datadome": "protected", "x-iinfo": "1-2-3" })
    expect(
      detectWall({ status: 200, headers: dd, body: "<html><body>ok</body></html>" }),
    ).toBeNull()
  })

  test("a normal page with vendors' scripts and a captcha in its contact form is no wall; refused (403), it is", async () => {
    const body = await wall("normal_with_traces.html")
    expect(detectWall({ status: 200, body })).toBeNull()
    expect(detectWall({ status: 403, body })).not.toBeNull()
  })

  test("a captcha widget is a wall on a page that is the captcha (its title, or almost no links)", () => {
    const links = Array.from({ length: 12 }, (_, i) => `<a href="/ad/${i}">Flat ${i}</a>`).join("")
    const widget = '<div class="g-recaptcha" data-sitekey="k"></div>'
    const page = (title: string, content: string) =>
      `<html><head><title>${title}</title></head><body>${content}${widget}</body></html>`
    expect(detectWall({ body: page("Flats", links) })).toBeNull()
    expect(detectWall({ body: page("Are you a robot?", links) })?.vendor).toBe("recaptcha")
    expect(detectWall({ body: page("Flats", "<p>One more step</p>") })?.vendor).toBe("recaptcha")
  })

  test("listing text in a JSON answer is never taken for a wall", () => {
    const body = JSON.stringify({
      hits: [{ title: "Just a moment... <title>Just a moment...</title> px-captcha", id: 1 }],
    })
    expect(detectWall({ status: 200, body })).toBeNull()
  })
})

describe("every source kind recognises the walls", async () => {
  const config = await Effect.runPromise(
    loadHtmlSourceConfig(packagePath("fixtures/html/example.json")),
  )
  const html = (body: string) => Effect.runPromise(htmlPageParser(config)(body))
  const avito = (body: string) => Effect.runPromise(parseAvitoPage(body, { market: "moskva" }))
  const blocked = (result: PageResult, says: string) => {
    expect(result._tag).toBe("Blocked")
    if (result._tag === "Blocked") expect(result.reason).toContain(says)
  }

  test("Bayut: an API answer that is a Cloudflare page, or DataDome's JSON captcha answer", async () => {
    blocked(parseBayutResponse(await wall("cloudflare_challenge.html")).result, "Cloudflare")
    blocked(parseBayutResponse(await wall("datadome_api.json")).result, "DataDome")
    expect(parseBayutResponse(await wall("datadome_api.json")).unrecognised).toBeUndefined()
  })

  test("a config source: Imperva, PerimeterX, Akamai and hCaptcha pages, with no block marker configured for them", async () => {
    blocked(await html(await wall("imperva_pardon.html")), "Imperva")
    blocked(await html(await wall("perimeterx_block.html")), "PerimeterX")
    blocked(await html(await wall("akamai_denied.html")), "Akamai")
    blocked(await html(await wall("hcaptcha_page.html")), "hCaptcha")
  })

  test("a config source: a normal page with vendors' traces still yields its listings", async () => {
    const result = await html(await wall("normal_with_traces.html"))
    expect(result._tag).toBe("Listings")
    if (result._tag === "Listings") expect(result.listings).toHaveLength(12)
  })

  test("Avito: a DataDome, Cloudflare and reCAPTCHA page", async () => {
    blocked(await avito(await wall("datadome_captcha.html")), "DataDome")
    blocked(await avito(await wall("cloudflare_blocked.html")), "Cloudflare")
    blocked(await avito(await wall("recaptcha_page.html")), "reCAPTCHA")
  })
})

describe("the Fetcher: a wall is Blocked, whatever the status, and never retried", () => {
  const site = FixtureSite.start()
  afterAll(() => site.stop())
  const options: FetchOptions = {
    ...defaultFetchOptions("walls"),
    timeout: Duration.seconds(5),
    retries: 2,
    backoff: Duration.millis(5),
    politeness: Duration.zero,
  }
  const get = (path: string) =>
    Effect.runPromise(
      Effect.either(
        Effect.flatMap(Fetcher, (f) => f.fetch({ url: `${site.url}${path}` }, options)),
      ).pipe(Effect.provide(Fetcher.Default)),
    )
  const blockedBy = async (path: string, vendor: WallVendor, status: number) => {
    const result = await get(path)
    if (Either.isRight(result)) throw new Error(`${path}: not blocked`)
    expect(result.left).toMatchObject({ reason: "Blocked", status, wall: { vendor } })
    expect(result.left.message).toContain(`(HTTP ${status})`)
    expect(site.requestsTo(path)).toHaveLength(1)
  }

  test("an Imperva page with status 200", async () => {
    site.on("/imperva", { body: await wall("imperva_pardon.html") })
    await blockedBy("/imperva", "imperva", 200)
  })

  test("DataDome: a 403 JSON answer with its header", async () => {
    site.on("/datadome", {
      status: 403,
      headers: { "content-type": "application/json", "x-datadome": "protected" },
      body: await wall("datadome_api.json"),
    })
    await blockedBy("/datadome", "datadome", 403)
  })

  test("a Cloudflare challenge with 503 and a rate-limit page with 429: blocked at once", async () => {
    site.on("/cf503", { status: 503, body: await wall("cloudflare_challenge.html") })
    site.on("/cf429", {
      status: 429,
      headers: { "retry-after": "1" },
      body: await wall("cloudflare_rate_limited.html"),
    })
    await blockedBy("/cf503", "cloudflare", 503)
    await blockedBy("/cf429", "cloudflare", 429)
  })

  test("an ordinary 503 is still retried, and a normal page with vendors' traces comes through", async () => {
    site.on("/down", { status: 503, headers: { server: "cloudflare" }, body: "down" })
    const down = await get("/down")
    expect(Either.isLeft(down) && down.left).toMatchObject({ reason: "Status", status: 503 })
    expect(site.requestsTo("/down")).toHaveLength(3)
    site.on("/normal", { body: await wall("normal_with_traces.html") })
    expect(Either.isRight(await get("/normal"))).toBe(true)
  })
})

describeShared("no saved real page is taken for a wall, and the real block page is", () => {
  const pages = readdirSync(SHARED_FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(SHARED_FIXTURES_DIR, d.name)).map((f) => `${d.name}/${f}`))

  test("the saved pages are all there to check", () => {
    expect(pages).toContain("avito/page_announcements_paginate_3.html")
    expect(pages.length).toBeGreaterThanOrEqual(10)
  })

  for (const page of pages.filter((p) => p !== "avito/page_many_request_0.html")) {
    test(`${page}: no wall (as a 200 and as a saved page)`, async () => {
      const body = await sharedFixture(page)
      expect(detectWall({ status: 200, body })).toBeNull()
      expect(detectWall({ body })).toBeNull()
    })
  }

  test("avito/page_many_request_0.html (IP block with an hCaptcha form): a wall", async () => {
    const body = await sharedFixture("avito/page_many_request_0.html")
    expect(detectWall({ body })?.vendor).toBe("hcaptcha")
    expect((await Effect.runPromise(parseAvitoPage(body, { market: "moskva" })))._tag).toBe(
      "Blocked",
    )
  })
})
