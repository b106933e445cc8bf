import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { listings, sourceState } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Markets } from "@flatwatch/market/Markets"
import { asc, eq } from "drizzle-orm"
import { Duration, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { bayutSearchPageUrl, VIA_HTML } from "./BayutCrawl.ts"
import { type BayutConfig, bayutSource } from "./BayutSource.ts"
import { FakeBayut, type FakeBayutListing } from "./FakeBayut.ts"
import { defaultFetchOptions, Fetcher } from "./Fetcher.ts"
import { defaultHealthPolicy } from "./SourceHealth.ts"
import { type RunReport, runSource } from "./SourceRun.ts"

const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    TestDatabase.layer("parser-bayut-fallback-test"),
    Fetcher.Default,
    Markets.layer(),
  ),
)
const run = <A, E>(effect: Effect.Effect<A, E, Database | Fetcher | Markets>) =>
  runtime.runPromise(effect)
beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

const settings = { policy: defaultHealthPolicy, adminIds: [] }

let fake: FakeBayut
beforeEach(async () => {
  fake = FakeBayut.start()
  await run(
    Database.sql((sql) =>
      sql.unsafe(`delete from deliveries; delete from listing_prices; delete from listings;
        delete from source_runs; delete from source_state`),
    ),
  )
})
afterEach(() => fake.stop())

const config = (overrides: Partial<BayutConfig> = {}): BayutConfig => ({
  id: "bayut",
  market: "dubai",
  apiUrl: fake.url,
  appId: "TESTAPP",
  apiKey: Redacted.make("test-key"),
  index: "bayut-production-ads-en",
  siteUrl: fake.url,
  hitsPerPage: 25,
  maxPages: 10,
  overlap: Duration.minutes(10),
  initialLookback: Duration.days(30),
  detailPages: true,
  detailConcurrency: 2,
  htmlSearch: { path: "/to-rent/property/dubai/", maxPages: 3 },
  fetch: { ...defaultFetchOptions("bayut"), retries: 0, politeness: Duration.zero },
  ...overrides,
})

const BASE = Math.floor(Date.now() / 1000) - 3600
const flat = (id: number, extra: Partial<FakeBayutListing> = {}): FakeBayutListing => ({
  id: String(id),
  createdAt: BASE + id,
  price: 12000,
  rentFrequency: "yearly",
  ...extra,
})
const ran = (report: RunReport) => {
  if (report._tag !== "Ran") throw new Error(`expected a run, got ${report._tag}`)
  return report
}
const state = () =>
  run(
    Database.query((db) => db.select().from(sourceState).where(eq(sourceState.source, "bayut"))),
  ).then((rows) => rows[0])
const stored = () =>
  run(
    Database.query((db) =>
      db.select().from(listings).where(eq(listings.source, "bayut")).orderBy(asc(listings.id)),
    ),
  )

describe("Bayut's HTML search page as the fallback when the API answers with a block", () => {
  test("the API blocked: the run reads the HTML search pages instead, says so, and stores what it read", async () => {
    fake.listings = [
      ...Array.from({ length: 30 }, (_, i) => flat(i + 1)),
      flat(99, { purpose: "for-sale" }),
    ]
    fake.override({ status: 403, body: '{"message":"Forbidden"}' })
    const report = ran(await run(runSource(bayutSource(config()), settings)))
    expect(report).toMatchObject({ outcome: "ok", found: 30, created: 30, status: "ok" })
    expect(fake.htmlSearchRequests).toBe(2)
    const rows = await stored()
    expect(rows).toHaveLength(30)
    expect(rows.find((r) => r.externalId === "30")).toMatchObject({
      price: 1000,
      rentPeriod: "yearly",
    })
    const after = await state()
    expect(after).toMatchObject({ status: "ok", via: VIA_HTML, lastError: null })
    expect(after?.cursor).toBe(String(BASE + 30))

    // The API answers again: the next run uses it, and the fallback note is gone.
    fake.listings.push(flat(31))
    const next = ran(await run(runSource(bayutSource(config()), settings)))
    expect(next).toMatchObject({ outcome: "ok", created: 1 })
    expect(fake.htmlSearchRequests).toBe(2)
    expect((await state())?.via).toBeNull()
  })

  test("the HTML page blocked too: the run is blocked, and the error names both", async () => {
    fake.listings = [flat(1)]
    fake.override({ status: 403, body: '{"message":"Forbidden"}' })
    fake.htmlSearchOverrides.push({
      status: 200,
      body: "<html><head><title>Pardon Our Interruption</title></head><body>captcha</body></html>",
    })
    const report = ran(await run(runSource(bayutSource(config()), settings)))
    expect(report).toMatchObject({ outcome: "blocked", created: 0, status: "blocked" })
    const after = await state()
    expect(after?.lastError).toContain("API blocked (")
    // The Fetcher recognises the wall (BotWall) and names it.
    expect(after?.lastError).toContain(
      'HTML search page: Imperva bot protection page ("Pardon Our Interruption") (HTTP 200)',
    )
    expect(after?.via).toBe(VIA_HTML)
  })

  test("with the fallback off (BAYUT_HTML_FALLBACK=false) a block stays a block", async () => {
    fake.listings = [flat(1)]
    fake.override({ status: 403, body: '{"message":"Forbidden"}' })
    const report = ran(
      await run(runSource(bayutSource(config({ htmlSearch: undefined })), settings)),
    )
    expect(report).toMatchObject({ outcome: "blocked" })
    expect(fake.htmlSearchRequests).toBe(0)
  })

  test("the search page URLs, newest first", () => {
    expect(bayutSearchPageUrl("https://www.bayut.com", "/to-rent/property/dubai/", 0)).toBe(
      "https://www.bayut.com/to-rent/property/dubai/?sort=date_desc",
    )
    expect(bayutSearchPageUrl("https://www.bayut.com/", "to-rent/property/dubai", 2)).toBe(
      "https://www.bayut.com/to-rent/property/dubai/page-3/?sort=date_desc",
    )
  })
})
