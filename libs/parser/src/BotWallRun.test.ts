import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { listings, sourceRuns, sourceState } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Markets } from "@flatwatch/market/Markets"
import { asc, eq } from "drizzle-orm"
import { Duration, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { avitoSource } from "./AvitoSource.ts"
import { bayutSource } from "./BayutSource.ts"
import { FakeBayut } from "./FakeBayut.ts"
import { defaultFetchOptions, Fetcher, type FetchOptions } from "./Fetcher.ts"
import { FixtureSite } from "./FixtureSite.ts"
import { htmlSource } from "./HtmlSource.ts"
import { loadHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import { ownFixture, packagePath } from "./SharedFixtures.ts"
import { defaultHealthPolicy } from "./SourceHealth.ts"
import { type RunReport, type RunSettings, runSource } from "./SourceRun.ts"

/**
 * A bot wall seen by a whole run, for each kind of source: the source is `blocked` with its
 * back-off, nothing is stored, the cursor is left where it was, and the run row says whose wall.
 */
const runtime = ManagedRuntime.make(
  Layer.mergeAll(TestDatabase.layer("parser-walls-test"), Fetcher.Default, Markets.layer()),
)
const run = <A, E>(effect: Effect.Effect<A, E, Database | Fetcher | Markets>) =>
  runtime.runPromise(effect)
beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

const settings: RunSettings = { policy: defaultHealthPolicy, adminIds: [] }
const fetchOptions = (source: string): FetchOptions => ({
  ...defaultFetchOptions(source),
  timeout: Duration.seconds(5),
  retries: 2,
  backoff: Duration.millis(5),
  politeness: Duration.zero,
})

let site: FixtureSite
beforeEach(async () => {
  site = FixtureSite.start()
  await run(
    Database.sql((sql) =>
      sql.unsafe(`delete from deliveries; delete from listing_prices; delete from listings;
        delete from source_runs; delete from source_state`),
    ),
  )
})
afterEach(() => site.stop())

const ran = (report: RunReport) => {
  if (report._tag !== "Ran") throw new Error(`expected a run, got ${report._tag}`)
  return report
}
const stateOf = async (source: string) =>
  (
    await run(
      Database.query((db) => db.select().from(sourceState).where(eq(sourceState.source, source))),
    )
  )[0]
const storedIds = async (source: string) =>
  (
    await run(
      Database.query((db) =>
        db
          .select({ id: listings.externalId })
          .from(listings)
          .where(eq(listings.source, source))
          .orderBy(asc(listings.externalId)),
      ),
    )
  ).map((r) => r.id)
const lastRun = async (source: string) =>
  (
    await run(
      Database.query((db) =>
        db
          .select()
          .from(sourceRuns)
          .where(eq(sourceRuns.source, source))
          .orderBy(asc(sourceRuns.id)),
      ),
    )
  ).at(-1)
/** `blocked_until` minus the run's end: the back-off the run set. */
const backoffMs = (row: typeof sourceState.$inferSelect | undefined) =>
  row?.blockedUntil == null ? null : row.blockedUntil.getTime() - row.updatedAt.getTime()

const wall = (file: string) => ownFixture(`walls/${file}`)

describe("a config source meets a wall", async () => {
  const config = await Effect.runPromise(
    loadHtmlSourceConfig(packagePath("fixtures/html/example.json")),
  )
  const source = () => htmlSource(config, { baseUrl: site.url, fetch: fetchOptions("example") })

  test("an Imperva page with status 200 after a good run: blocked with back-off, the listings and the cursor as they were", async () => {
    site.on("/search", { body: await ownFixture("html/page.html") })
    expect(ran(await run(runSource(source(), settings)))).toMatchObject({
      outcome: "ok",
      created: 2,
    })
    expect(await stateOf("example")).toMatchObject({ status: "ok", cursor: "complete" })

    site.on("/search", { body: await wall("imperva_pardon.html") })
    const report = ran(await run(runSource(source(), settings)))
    expect(report).toMatchObject({ outcome: "blocked", status: "blocked", found: 0, created: 0 })
    expect(report.error).toContain("Pardon Our Interruption")
    const state = await stateOf("example")
    expect(state).toMatchObject({ status: "blocked", cursor: "complete" })
    expect(backoffMs(state)).toBe(60_000)
    expect(await storedIds("example")).toEqual(["ad-1", "ad-2"])
    expect(await lastRun("example")).toMatchObject({ outcome: "blocked", new: 0 })
    expect((await lastRun("example"))?.error).toContain("Imperva")

    // Within the back-off the site is not asked again.
    const asked = site.requestsTo("/search").length
    expect(await run(runSource(source(), settings))).toMatchObject({
      _tag: "Skipped",
      reason: "backoff",
    })
    expect(site.requestsTo("/search")).toHaveLength(asked)
  })

  test("a DataDome 403 on the very first run: blocked, nothing stored, no cursor, asked once", async () => {
    site.on("/search", {
      status: 403,
      headers: { "x-datadome": "protected" },
      body: await wall("datadome_captcha.html"),
    })
    const report = ran(await run(runSource(source(), settings)))
    expect(report).toMatchObject({ outcome: "blocked", status: "blocked", pages: 0 })
    expect(report.error).toContain("DataDome")
    expect(await stateOf("example")).toMatchObject({ status: "blocked", cursor: null })
    expect(await storedIds("example")).toEqual([])
    expect(site.requestsTo("/search")).toHaveLength(1)
  })
})

describe("the built-in sources meet a wall", () => {
  test("Bayut: the API answers a Cloudflare challenge with 503: blocked at once (no retries), nothing stored, no cursor", async () => {
    const fake = FakeBayut.start()
    try {
      fake.listings = [
        {
          id: "1",
          createdAt: Math.floor(Date.now() / 1000) - 60,
          price: 10000,
          rooms: 1,
          neighbourhood: "Dubai Marina",
          furnished: true,
        },
      ]
      fake.override({ status: 503, body: await wall("cloudflare_challenge.html") })
      const bayut = bayutSource({
        id: "bayut",
        market: "dubai",
        apiUrl: fake.url,
        appId: "TESTAPP",
        apiKey: Redacted.make("test-key"),
        index: "bayut-production-ads-en",
        siteUrl: fake.url,
        hitsPerPage: 3,
        maxPages: 5,
        overlap: Duration.minutes(10),
        initialLookback: Duration.days(1),
        detailPages: false,
        detailConcurrency: 1,
        fetch: fetchOptions("bayut"),
      })
      const report = ran(await run(runSource(bayut, settings)))
      expect(report).toMatchObject({ outcome: "blocked", status: "blocked", found: 0 })
      expect(report.error).toContain("Cloudflare challenge page")
      expect(fake.apiRequests).toBe(1)
      expect(await storedIds("bayut")).toEqual([])
      const state = await stateOf("bayut")
      expect(state).toMatchObject({ status: "blocked", cursor: null })
      expect(backoffMs(state)).toBe(60_000)
    } finally {
      fake.stop()
    }
  })

  test("Avito: a PerimeterX page with status 200: blocked, nothing stored", async () => {
    site.on("/moskva/kvartiry", { body: await wall("perimeterx_block.html") })
    const avito = avitoSource({
      id: "avito",
      market: "moscow",
      urls: ["https://www.avito.ru/moskva/kvartiry?s=104"],
      baseUrl: site.url,
      maxPages: 2,
      fetch: fetchOptions("avito"),
    })
    const report = ran(await run(runSource(avito, settings)))
    expect(report).toMatchObject({ outcome: "blocked", status: "blocked" })
    expect(report.error).toContain("PerimeterX")
    expect(await storedIds("avito")).toEqual([])
    expect(await stateOf("avito")).toMatchObject({ status: "blocked", cursor: null })
  })
})
