import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import {
  deliveries,
  filters,
  listingPrices,
  listings,
  sourceRuns,
  sourceState,
  subscriptions,
  users,
} from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Markets } from "@flatwatch/market/Markets"
import { asc, eq } from "drizzle-orm"
import { Duration, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { avitoSource } from "./AvitoSource.ts"
import { type BayutConfig, bayutSource } from "./BayutSource.ts"
import { FakeBayut, type FakeBayutListing } from "./FakeBayut.ts"
import { defaultFetchOptions, Fetcher, type FetchOptions } from "./Fetcher.ts"
import { FixtureSite } from "./FixtureSite.ts"
import { ownFixture } from "./SharedFixtures.ts"
import type { Source } from "./Source.ts"
import { defaultHealthPolicy } from "./SourceHealth.ts"
import { type RunReport, type RunSettings, runSource } from "./SourceRun.ts"

const runtime = ManagedRuntime.make(
  Layer.mergeAll(TestDatabase.layer("parser-run-test"), Fetcher.Default, Markets.layer()),
)
const run = <A, E>(effect: Effect.Effect<A, E, Database | Fetcher | Markets>) =>
  runtime.runPromise(effect)
beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

const ADMIN = 999
const settings: RunSettings = {
  policy: { ...defaultHealthPolicy, degradedAfter: 3 },
  adminIds: [ADMIN],
}
const fetchOptions = (source: string): FetchOptions => ({
  ...defaultFetchOptions(source),
  timeout: Duration.seconds(5),
  retries: 2,
  backoff: Duration.millis(5),
  politeness: Duration.zero,
})

let fake: FakeBayut
beforeEach(async () => {
  fake = FakeBayut.start()
  await run(
    Database.sql((sql) =>
      sql.unsafe(`delete from deliveries; delete from listing_prices; delete from listings;
        delete from source_runs; delete from source_state; delete from subscriptions;
        delete from filters; delete from users`),
    ),
  )
})
afterEach(() => fake.stop())

const bayutConfig = (overrides: Partial<BayutConfig> = {}): BayutConfig => ({
  id: "bayut",
  market: "dubai",
  apiUrl: fake.url,
  appId: "TESTAPP",
  apiKey: Redacted.make("test-key"),
  index: "bayut-production-ads-en",
  siteUrl: fake.url,
  hitsPerPage: 3,
  maxPages: 10,
  overlap: Duration.minutes(10),
  initialLookback: Duration.days(30),
  detailPages: true,
  detailConcurrency: 2,
  fetch: fetchOptions("bayut"),
  ...overrides,
})

const nowSeconds = () => Math.floor(Date.now() / 1000)
/** Listing times are fixed for the file, so expectations computed later agree with them. */
const BASE = nowSeconds() - 3600
const flat = (id: number, extra: Partial<FakeBayutListing> = {}): FakeBayutListing => ({
  id: String(id),
  createdAt: BASE + id,
  price: 10000,
  rooms: 1,
  neighbourhood: "Dubai Marina",
  furnished: true,
  ...extra,
})

/** A user with an active subscription and one filter. */
const subscriber = (id: number, filter: Partial<typeof filters.$inferInsert> = {}) =>
  Database.query(async (db) => {
    await db.insert(users).values({ id, chatId: id })
    await db.insert(subscriptions).values({
      userId: id,
      plan: "month",
      startsAt: new Date(Date.now() - 86_400_000),
      endsAt: new Date(Date.now() + 86_400_000),
    })
    await db.insert(filters).values({ userId: id, name: "flat", market: "dubai", ...filter })
  })

const ran = (report: RunReport) => {
  if (report._tag !== "Ran") throw new Error(`expected a run, got ${report._tag}`)
  return report
}
const state = () =>
  run(
    Database.query((db) => db.select().from(sourceState).where(eq(sourceState.source, "bayut"))),
  ).then((rows) => rows[0])
const alerts = (kind: "listing" | "price_drop" | "admin_notice" = "listing") =>
  run(
    Database.query((db) =>
      db
        .select({
          userId: deliveries.userId,
          chatId: deliveries.chatId,
          externalId: listings.externalId,
          dedupeKey: deliveries.dedupeKey,
          payload: deliveries.payload,
        })
        .from(deliveries)
        .leftJoin(listings, eq(listings.id, deliveries.listingId))
        .where(eq(deliveries.kind, kind))
        .orderBy(asc(deliveries.id)),
    ),
  )
/** The back-off the run recorded: `blocked_until` minus the run's end (`updated_at`). */
const backoffMs = (row: typeof sourceState.$inferSelect | undefined): number | undefined =>
  row?.blockedUntil === null || row?.blockedUntil === undefined
    ? undefined
    : row.blockedUntil.getTime() - row.updatedAt.getTime()
const noticeText = (row: { readonly payload: unknown } | undefined): string =>
  (row?.payload as { text?: string } | undefined)?.text ?? ""
const stored = () =>
  run(
    Database.query((db) =>
      db
        .select()
        .from(listings)
        .where(eq(listings.source, "bayut"))
        .orderBy(asc(listings.externalId)),
    ),
  )
const runs = () =>
  run(Database.query((db) => db.select().from(sourceRuns).orderBy(asc(sourceRuns.id))))

describe("a Bayut run against the fixture server", () => {
  test("stores the listings and queues alerts for matching subscribers; the next run adds nothing", async () => {
    fake.listings = [
      flat(1),
      flat(2, { rooms: 2 }),
      flat(3, { rooms: 0, rentFrequency: "yearly", price: 96000 }),
      flat(4, { purpose: "for-sale", price: 2_000_000 }),
      flat(5, { neighbourhood: "Downtown Dubai" }),
      flat(6, { price: 30000 }),
      flat(7, { phone: null, detailPhone: "+971509999999" }),
    ]
    await run(subscriber(1, { rooms: [1] }))
    await run(subscriber(2, { rooms: [0], priceMax: 9000 }))
    await run(subscriber(3, { districtGroups: ["Downtown"] }))

    const first = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(first).toMatchObject({
      outcome: "ok",
      pages: 2,
      found: 6,
      created: 6,
      invalid: 0,
      status: "ok",
    })
    const rows = await stored()
    expect(rows.map((r) => r.externalId)).toEqual(["1", "2", "3", "5", "6", "7"])
    expect(rows.find((r) => r.externalId === "3")).toMatchObject({
      rooms: 0,
      price: 8000,
      priceOriginal: 96000,
    })
    // No phone in the API: read from the listing's page.
    expect(rows.find((r) => r.externalId === "7")?.agentPhone).toBe("+971509999999")

    const queued = (await alerts()).map((a) => `${a.userId}:${a.externalId}`).sort()
    expect(queued).toEqual(["1:1", "1:5", "1:6", "1:7", "2:3", "3:5"].sort())
    expect((await state())?.cursor).toBe(String(flat(7).createdAt))
    expect(await runs()).toMatchObject([{ outcome: "ok", pages: 2, found: 6, new: 6, updated: 0 }])

    const second = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(second).toMatchObject({ outcome: "ok", created: 0, queued: 0 })
    expect((await alerts()).length).toBe(6)
    expect((await stored()).length).toBe(6)
    // The second run asked only for what is newer than the cursor minus the overlap.
    const lastQuery = JSON.parse(fake.site.requestsTo("/1/indexes/*/queries").at(-1)?.body ?? "{}")
    expect(lastQuery.requests[0].params).toContain(
      encodeURIComponent(`createdAt>${flat(7).createdAt - 600}`),
    )
    expect(fake.site.requests.filter((r) => r.path.startsWith("/property/"))).toHaveLength(1)
  })

  test("a price drop records history and alerts those who got the listing and still match", async () => {
    fake.listings = [flat(1, { price: 12000 })]
    await run(subscriber(1))
    await run(subscriber(2, { priceMax: 11000 }))
    ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect((await alerts()).map((a) => a.userId)).toEqual([1])
    // The sender delivered it.
    await run(
      Database.query((db) => db.update(deliveries).set({ status: "sent", sentAt: new Date() })),
    )

    fake.listings = [flat(1, { price: 10500 })]
    const report = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(report).toMatchObject({ created: 0, updated: 1 })
    const [row] = await stored()
    expect(row?.price).toBe(10500)
    const history = await run(
      Database.query((db) =>
        db
          .select({ price: listingPrices.price })
          .from(listingPrices)
          .orderBy(asc(listingPrices.id)),
      ),
    )
    expect(history.map((h) => h.price)).toEqual([12000, 10500])
    // User 1 got it and gets "was 12000, now 10500"; user 2 never got it, but it now fits their budget.
    expect(await alerts("price_drop")).toMatchObject([
      { userId: 1, externalId: "1", payload: { oldPrice: 12000, newPrice: 10500 } },
    ])
    expect((await alerts()).map((a) => a.userId)).toEqual([1, 2])
  })

  test("a block page: status blocked with backoff, nothing stored, one admin notice", async () => {
    fake.listings = [flat(1)]
    await run(subscriber(1))
    fake.override({ status: 403, body: '{"message":"Forbidden"}' })
    const report = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(report).toMatchObject({ outcome: "blocked", found: 0, status: "blocked" })
    expect(await stored()).toEqual([])
    expect(await alerts()).toEqual([])
    const blocked = await state()
    expect(blocked?.status).toBe("blocked")
    expect(backoffMs(blocked)).toBe(60_000)
    const notices = await alerts("admin_notice")
    expect(notices).toHaveLength(1)
    expect(notices[0]).toMatchObject({ userId: null, chatId: ADMIN })
    expect(noticeText(notices[0])).toContain("Source <b>bayut</b> is blocked")

    // Within the backoff the source is not asked at all.
    const requests = fake.apiRequests
    expect(await run(runSource(bayutSource(bayutConfig()), settings))).toMatchObject({
      _tag: "Skipped",
      reason: "backoff",
    })
    expect(fake.apiRequests).toBe(requests)
  })

  test("blocked again: the backoff doubles, no second notice; recovery: ok and one notice", async () => {
    fake.listings = [flat(1)]
    const source = bayutSource(bayutConfig())
    const expireBackoff = () =>
      run(
        Database.query((db) =>
          db.update(sourceState).set({ blockedUntil: new Date(Date.now() - 1) }),
        ),
      )
    fake.override({ status: 403, body: "no" }, { status: 401, body: "no" })
    ran(await run(runSource(source, settings)))
    await expireBackoff()
    ran(await run(runSource(source, settings)))
    const second = await state()
    expect(second?.consecutiveFailures).toBe(2)
    expect(backoffMs(second)).toBe(120_000)
    expect(await alerts("admin_notice")).toHaveLength(1)

    await run(
      Database.query((db) =>
        db.update(sourceState).set({ blockedUntil: new Date(Date.now() - 1) }),
      ),
    )
    const report = ran(await run(runSource(source, settings)))
    expect(report).toMatchObject({ outcome: "ok", status: "ok", created: 1 })
    expect(await state()).toMatchObject({
      status: "ok",
      consecutiveFailures: 0,
      blockedUntil: null,
    })
    const notices = await alerts("admin_notice")
    expect(notices).toHaveLength(2)
    expect(noticeText(notices[1])).toContain("is working again")
  })

  test("the 1-hour cap on the backoff", async () => {
    fake.override(...Array.from({ length: 9 }, () => ({ status: 403, body: "no" })))
    for (let i = 0; i < 9; i++) {
      await run(Database.query((db) => db.update(sourceState).set({ blockedUntil: null })))
      ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    }
    expect(backoffMs(await state())).toBe(3_600_000)
  })

  test("a challenge page with status 200 is blocked too", async () => {
    fake.override({ body: await ownFixture("bayut/challenge.html") })
    expect(ran(await run(runSource(bayutSource(bayutConfig()), settings))).outcome).toBe("blocked")
  })

  test("a 500 then success: retried within the run", async () => {
    fake.listings = [flat(1)]
    fake.override({ status: 500, body: "oops" })
    const report = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(report).toMatchObject({ outcome: "ok", created: 1 })
    expect(fake.apiRequests).toBe(2)
  })

  test("a run that fails mid-way keeps what it read but does not move the cursor", async () => {
    fake.listings = [flat(1), flat(2), flat(3), flat(4), flat(5)]
    await run(
      Database.query((db) =>
        db.insert(sourceState).values({ source: "bayut", cursor: String(nowSeconds() - 7200) }),
      ),
    )
    const before = (await state())?.cursor
    // Page 0 answers; page 1 fails three times (1 + 2 retries).
    fake.overridePage(
      1,
      { status: 500, body: "oops" },
      { status: 502, body: "oops" },
      { status: 503, body: "oops" },
    )
    const report = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(report.outcome).toBe("failed")
    expect(report.error).toContain("HTTP 503")
    expect((await stored()).map((r) => r.externalId)).toEqual(["3", "4", "5"])
    expect((await state())?.cursor).toBe(before)
    expect((await state())?.lastError).toContain("HTTP 503")
    expect(await runs()).toMatchObject([{ outcome: "failed", pages: 1, found: 3, new: 3 }])

    // The next run reads everything above the old cursor again and then moves it.
    const next = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(next).toMatchObject({ outcome: "ok", created: 2 })
    expect((await state())?.cursor).toBe(String(flat(5).createdAt))
  })

  test("an answer cut short or not JSON mid-crawl: the run fails, the cursor stays, nothing is lost", async () => {
    // Two listings posted well before the newest three (further back than the overlap).
    const older = (id: number) => flat(id, { createdAt: BASE - 7200 + id })
    fake.listings = [older(1), older(2), flat(3), flat(4), flat(5)]
    fake.overridePage(1, { status: 200, body: '{"results":[{"hits":[{"externalID":"2","purpose' })
    const report = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(report).toMatchObject({ outcome: "failed", created: 3 })
    expect(report.error).toContain("page 1: unrecognised response")
    expect((await state())?.cursor).toBeNull()
    expect((await state())?.lastError).toContain("unrecognised response")

    fake.overridePage(1, { status: 200, body: "<html><body>502 Bad Gateway</body></html>" })
    const html = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(html).toMatchObject({ outcome: "failed", created: 0 })
    expect(html.error).toContain("Bayut answered HTML instead of JSON")
    expect((await state())?.cursor).toBeNull()

    const next = ran(await run(runSource(bayutSource(bayutConfig()), settings)))
    expect(next).toMatchObject({ outcome: "ok", created: 2 })
    expect((await stored()).map((r) => r.externalId)).toEqual(["1", "2", "3", "4", "5"])
    expect((await state())?.cursor).toBe(String(flat(5).createdAt))
  })

  test("more pages than the limit: stored, but the cursor waits for a complete run", async () => {
    fake.listings = [flat(1), flat(2), flat(3), flat(4)]
    const report = ran(await run(runSource(bayutSource(bayutConfig({ maxPages: 1 })), settings)))
    expect(report).toMatchObject({ outcome: "ok", created: 3 })
    expect((await state())?.cursor).toBeNull()
    ran(await run(runSource(bayutSource(bayutConfig({ maxPages: 2 })), settings)))
    expect((await state())?.cursor).toBe(String(flat(4).createdAt))
  })

  test("two runs at once (two instances): one runs, the other is skipped", async () => {
    fake.listings = [flat(1)]
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    fake.site.on("/1/indexes/*/queries", async () => {
      await gate
      return { body: JSON.stringify({ hits: [], nbHits: 0, page: 0, nbPages: 0 }) }
    })
    const source = bayutSource(bayutConfig())
    const first = run(runSource(source, settings))
    while (fake.apiRequests === 0) await Bun.sleep(5)
    const second = await run(runSource(source, settings))
    expect(second).toMatchObject({ _tag: "Skipped", reason: "locked" })
    release()
    expect(ran(await first).outcome).toBe("empty")
  })
})

describe("a source whose parser crashes", () => {
  test("the run is recorded as failed with the reason, nothing is stored, the next run goes ahead", async () => {
    let crash = true
    const flaky: Source = {
      id: "flaky",
      market: "dubai",
      parse: () => Effect.dieMessage("unexpected markup"),
      crawl: () =>
        crash
          ? Effect.die(new TypeError("Cannot read properties of null (reading 'textContent')"))
          : Effect.succeed({
              outcome: "empty",
              pages: 1,
              listings: [],
              invalid: [],
              skipped: 0,
              errors: 0,
            }),
    }
    const failed = ran(await run(runSource(flaky, settings)))
    expect(failed).toMatchObject({ outcome: "failed", found: 0, created: 0 })
    expect(failed.error).toContain("Cannot read properties of null")
    const [row] = await run(
      Database.query((db) => db.select().from(sourceRuns).where(eq(sourceRuns.source, "flaky"))),
    )
    expect(row).toMatchObject({ outcome: "failed", new: 0 })
    expect(row?.error).toContain("Cannot read properties of null")
    crash = false
    expect(ran(await run(runSource(flaky, settings))).outcome).toBe("empty")
  })
})

describe("an HTML source run (Avito) against the fixture server", () => {
  let site: FixtureSite
  beforeEach(() => {
    site = FixtureSite.start()
  })
  afterEach(() => site.stop())

  const avito = (urls: ReadonlyArray<string>, maxPages = 3): Source =>
    avitoSource({
      id: "avito",
      market: "moscow",
      urls,
      baseUrl: site.url,
      maxPages,
      fetch: fetchOptions("avito"),
    })

  test("pages until one brings nothing new; listings stored with absolute URLs", async () => {
    const serp = await ownFixture("avito/serp.html")
    site.on("/moskva/kvartiry", (request) =>
      request.path.includes("p=2") ? { body: serp.replaceAll("500", "600") } : { body: serp },
    )
    const source = avito(["https://www.avito.ru/moskva/kvartiry?s=104"])
    const first = ran(await run(runSource(source, settings)))
    expect(first).toMatchObject({ outcome: "ok", pages: 3, found: 6, created: 6, invalid: 3 })
    const rows = await run(
      Database.query((db) => db.select().from(listings).where(eq(listings.source, "avito"))),
    )
    expect(rows.find((r) => r.externalId === "5001")?.url).toBe(
      `${site.url}/moskva/kvartiry/kvartira-studiya_25_m_512_et._5001`,
    )
    expect(site.requestsTo("/moskva/kvartiry").map((r) => r.path)).toEqual([
      "/moskva/kvartiry?s=104",
      "/moskva/kvartiry?s=104&p=2",
      "/moskva/kvartiry?s=104&p=3",
    ])
    // Page 1 is all known now: one request, nothing new.
    const second = ran(await run(runSource(source, settings)))
    expect(second).toMatchObject({ pages: 1, created: 0 })
  })

  test("a run that fails after page 1: the next run reads past page 1 (all known by then)", async () => {
    const serp = await ownFixture("avito/serp.html")
    let page2Fails = true
    site.on("/list", (request) =>
      request.path.includes("p=2")
        ? page2Fails
          ? { status: 503, body: "down" }
          : { body: serp.replaceAll("500", "600") }
        : request.path.includes("p=3")
          ? { body: serp.replaceAll("500", "700") }
          : { body: serp },
    )
    const source = avito(["https://www.avito.ru/list?s=104"])
    const ids = async () =>
      (
        await run(
          Database.query((db) =>
            db
              .select({ id: listings.externalId })
              .from(listings)
              .where(eq(listings.source, "avito"))
              .orderBy(asc(listings.externalId)),
          ),
        )
      ).map((r) => r.id)
    const avitoCursor = async () =>
      (
        await run(
          Database.query((db) =>
            db.select().from(sourceState).where(eq(sourceState.source, "avito")),
          ),
        )
      )[0]?.cursor

    const failed = ran(await run(runSource(source, settings)))
    expect(failed).toMatchObject({ outcome: "failed", created: 3 })
    expect(await ids()).toEqual(["5001", "5002", "5003"])
    expect(await avitoCursor()).toBe("partial")

    // Page 1 holds nothing new now; pages 2 and 3 were never read: they are, this time.
    page2Fails = false
    const next = ran(await run(runSource(source, settings)))
    expect(next).toMatchObject({ outcome: "ok", pages: 3, created: 6 })
    expect(await ids()).toEqual([
      "5001",
      "5002",
      "5003",
      "6001",
      "6002",
      "6003",
      "7001",
      "7002",
      "7003",
    ])
    expect(await avitoCursor()).toBe("complete")

    // Back to normal: stop at the first page with nothing new.
    expect(ran(await run(runSource(source, settings)))).toMatchObject({ pages: 1, created: 0 })
  })

  test("the nothing-found page: outcome empty; the block page: blocked", async () => {
    site.on("/void", { body: await ownFixture("avito/void.html") })
    site.on("/ip", { status: 200, body: await ownFixture("avito/blocked_ip.html") })
    expect(ran(await run(runSource(avito(["https://www.avito.ru/void"]), settings))).outcome).toBe(
      "empty",
    )
    const blocked = ran(await run(runSource(avito(["https://www.avito.ru/ip"]), settings)))
    expect(blocked).toMatchObject({ outcome: "blocked", status: "blocked" })
  })

  test("several runs without listings on a source that had some: degraded, one notice", async () => {
    site.on("/list", { body: await ownFixture("avito/serp.html") })
    const source = avito(["https://www.avito.ru/list"], 1)
    ran(await run(runSource(source, settings)))
    site.on("/list", { body: "<html><body><h1>Новый дизайн</h1></body></html>" })
    const statuses: Array<string> = []
    for (let i = 0; i < 4; i++) statuses.push(ran(await run(runSource(source, settings))).status)
    expect(statuses).toEqual(["ok", "ok", "degraded", "degraded"])
    const notices = await alerts("admin_notice")
    expect(notices).toHaveLength(1)
    expect(noticeText(notices[0])).toContain("has found no listings in 3 runs")
  })
})
