import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import {
  deliveries,
  filters,
  listings,
  sourceRuns,
  sourceState,
  subscriptions,
  users,
} from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { and, asc, eq } from "drizzle-orm"
import { ConfigProvider, Effect, Exit, Layer, ManagedRuntime, Metric, Scope } from "effect"
import { describeBrowser, killChromiumsOf } from "./BrowserTestKit.ts"
import { chromiumsOf, isAlive } from "./ChromiumProcess.ts"
import { FakeBayut } from "./FakeBayut.ts"
import * as ParserComponent from "./ParserComponent.ts"
import { ParserMetrics } from "./ParserMetrics.ts"

/** A database for the whole file; the component is started and stopped per test on top of it. */
const database = ManagedRuntime.make(TestDatabase.layer("parser-component-test"))
const db = <A, E>(effect: Effect.Effect<A, E, Database>) => database.runPromise(effect)
let databaseLayer: Layer.Layer<Database>
beforeAll(async () => {
  const context = await database.runtime()
  databaseLayer = Layer.succeedContext(context.context)
})
afterAll(() => database.dispose())

const fake = FakeBayut.start()
afterAll(() => fake.stop())

const env = (extra: Record<string, string> = {}) =>
  ConfigProvider.fromMap(
    new Map(
      Object.entries({
        BAYUT_BASE_URL: fake.url,
        BAYUT_SITE_URL: fake.url,
        BAYUT_ALGOLIA_APP_ID: "TESTAPP",
        BAYUT_ALGOLIA_API_KEY: "test-key",
        BAYUT_CRON: "* * * * * *",
        BAYUT_INITIAL_LOOKBACK: "30 days",
        BAYUT_DETAIL_PAGES: "false",
        PARSER_JITTER: "0 seconds",
        PARSER_POLITENESS_DELAY: "0 seconds",
        PARSER_FETCH_BACKOFF: "10 millis",
        ADMIN_IDS: "999",
        ...extra,
      }),
    ),
  )

/** Starts the component in its own scope, as a worker host would; returns the scope to close. */
const start = async (extra: Record<string, string> = {}) => {
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(
    Layer.buildWithScope(
      ParserComponent.scrapeLayer.pipe(
        Layer.provide(databaseLayer),
        Layer.provide(Layer.setConfigProvider(env(extra))),
      ),
      scope,
    ),
  )
  return { stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

const listingAlerts = () =>
  db(
    Database.query((q) =>
      q
        .select({ userId: deliveries.userId })
        .from(deliveries)
        .where(eq(deliveries.kind, "listing")),
    ),
  )

describe("ParserComponent.scrapeLayer", () => {
  test("runs Bayut on its cron: a new listing at the source becomes an alert; stops when closed", async () => {
    await db(
      Database.query(async (q) => {
        await q.insert(users).values({ id: 1, chatId: 1 })
        await q.insert(subscriptions).values({
          userId: 1,
          plan: "month",
          startsAt: new Date(Date.now() - 86_400_000),
          endsAt: new Date(Date.now() + 86_400_000),
        })
        await q.insert(filters).values({ userId: 1, name: "any", market: "dubai" })
      }),
    )
    fake.listings = []
    // The counter is process-wide (other test files count Bayut listings too): compare deltas.
    const created = async () =>
      (await Effect.runPromise(Metric.value(ParserMetrics.created("bayut")))).count
    const createdBefore = await created()
    const component = await start()
    try {
      // The first run happens at start-up and finds nothing.
      await until(
        "a first run",
        async () => (await db(Database.query((q) => q.select().from(sourceRuns)))).length > 0,
      )
      expect(await listingAlerts()).toEqual([])

      fake.listings = [{ id: "42", createdAt: Math.floor(Date.now() / 1000) - 60, price: 9000 }]
      await until("the alert", async () => (await listingAlerts()).length === 1)
      expect(await listingAlerts()).toEqual([{ userId: 1 }])

      // Counted right after the run's transaction commits.
      await until("the counter", async () => (await created()) > createdBefore)
      expect((await created()) - createdBefore).toBe(1)
    } finally {
      await component.stop()
    }
    const requests = fake.apiRequests
    // Absence can only be observed over time: longer than one cron period.
    await Bun.sleep(1_200)
    expect(fake.apiRequests).toBe(requests)
  })

  test("runs Bayut's price watch on its own cron: a delivered listing's price drop becomes a price_drop alert", async () => {
    await db(
      Database.query(async (q) => {
        await q.insert(users).values({ id: 7, chatId: 7 })
        await q.insert(subscriptions).values({
          userId: 7,
          plan: "month",
          startsAt: new Date(Date.now() - 86_400_000),
          endsAt: new Date(Date.now() + 86_400_000),
        })
        await q.insert(filters).values({ userId: 7, name: "any", market: "dubai" })
      }),
    )
    const alertsFor = (kind: "listing" | "price_drop") =>
      db(
        Database.query((q) =>
          q
            .select({ userId: deliveries.userId, payload: deliveries.payload })
            .from(deliveries)
            .innerJoin(listings, eq(listings.id, deliveries.listingId))
            .where(and(eq(deliveries.kind, kind), eq(listings.externalId, "77")))
            .orderBy(asc(deliveries.userId)),
        ),
      )
    fake.listings = [{ id: "77", createdAt: Math.floor(Date.now() / 1000) - 30, price: 9000 }]
    // The crawl runs once at start-up only; the watch every second.
    const component = await start({
      BAYUT_CRON: "0 0 1 1 *",
      BAYUT_PRICE_WATCH_CRON: "* * * * * *",
    })
    try {
      await until("the listing alerts", async () => (await alertsFor("listing")).length === 2)
      await db(
        Database.query((q) =>
          q
            .update(deliveries)
            .set({ status: "sent", sentAt: new Date(Date.now() - 86_400_000) })
            .where(eq(deliveries.kind, "listing")),
        ),
      )
      fake.listings = [{ id: "77", createdAt: Math.floor(Date.now() / 1000) - 30, price: 8000 }]
      await until("the price drop", async () => (await alertsFor("price_drop")).length === 2)
      expect(await alertsFor("price_drop")).toEqual([
        { userId: 1, payload: { oldPrice: 9000, newPrice: 8000 } },
        { userId: 7, payload: { oldPrice: 9000, newPrice: 8000 } },
      ])
      const watchRuns = await db(
        Database.query((q) =>
          q.select().from(sourceRuns).where(eq(sourceRuns.kind, "price_watch")),
        ),
      )
      expect(watchRuns.some((r) => r.outcome === "ok" && r.updated === 1)).toBe(true)
    } finally {
      await component.stop()
    }
  })

  test("ticks never overlap: a slow run makes the next ticks skip", async () => {
    let inFlight = 0
    let maxInFlight = 0
    let calls = 0
    fake.site.on("/1/indexes/*/queries", async () => {
      calls++
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await Bun.sleep(2_500)
      inFlight--
      return { body: JSON.stringify({ hits: [], nbHits: 0, page: 0, nbPages: 0 }) }
    })
    const component = await start()
    try {
      await until("two runs", async () => calls >= 2, 15_000)
    } finally {
      await component.stop()
    }
    expect(maxInFlight).toBe(1)
  }, 30_000)

  test("a run interrupted by shutdown is recorded as failed; the cursor stays", async () => {
    let started = false
    fake.site.on("/1/indexes/*/queries", async () => {
      started = true
      await Bun.sleep(60_000)
      return { body: "{}" }
    })
    const cursor = async () =>
      (await db(Database.query((q) => q.select().from(sourceState))))[0]?.cursor ?? null
    const before = await cursor()
    expect(before).not.toBeNull()
    const component = await start({ BAYUT_CRON: "0 0 1 1 *" })
    await until("the run to start", async () => started)
    await component.stop()
    const last = (
      await db(Database.query((q) => q.select().from(sourceRuns).orderBy(asc(sourceRuns.id))))
    ).at(-1)
    expect(last).toMatchObject({ outcome: "failed", error: "interrupted (shutdown)" })
    expect(await cursor()).toBe(before)
  })

  test("bad configuration fails start-up naming the variable", async () => {
    const failure = (extra: Record<string, string>) =>
      Effect.runPromise(
        Effect.flip(
          Layer.build(
            ParserComponent.scrapeLayer.pipe(
              Layer.provide(databaseLayer),
              Layer.provide(Layer.setConfigProvider(env(extra))),
            ),
          ).pipe(Effect.scoped),
        ),
      ).then(String)
    expect(await failure({ BAYUT_CRON: "every two minutes" })).toContain("BAYUT_CRON")
    expect(await failure({ PARSER_FETCH_RETRIES: "many" })).toContain("PARSER_FETCH_RETRIES")
    expect(await failure({ HTML_SOURCES: "/nonexistent/site.json" })).toContain(
      "/nonexistent/site.json",
    )
  })
})

describeBrowser("ParserComponent.scrapeLayer with fetch: browser", (chromium) => {
  test("BAYUT_FETCH=browser: Bayut is read through the component's own Chromium, closed when the component stops", async () => {
    // A Bayut of its own: the tests above replaced the shared fake's API route.
    const bayut = FakeBayut.start()
    bayut.listings = [{ id: "88", createdAt: Math.floor(Date.now() / 1000) - 30, price: 9100 }]
    const stored = async () =>
      (
        await db(
          Database.query((q) =>
            q
              .select()
              .from(listings)
              .where(and(eq(listings.source, "bayut"), eq(listings.externalId, "88"))),
          ),
        )
      ).length > 0
    let pids: Array<number> = []
    try {
      const component = await start({
        BAYUT_BASE_URL: bayut.url,
        BAYUT_SITE_URL: bayut.url,
        BAYUT_FETCH: "browser",
        CHROMIUM_PATH: chromium,
        BAYUT_PRICE_WATCH_ENABLED: "false",
      })
      try {
        await until("the listing, read in the browser", stored, 45_000)
        pids = chromiumsOf("parser")
        expect(pids).toHaveLength(1)
        const api = bayut.site.requestsTo("/1/indexes/*/queries")
        expect(api.at(-1)?.headers.get("sec-fetch-mode")).toBe("cors")
      } finally {
        await component.stop()
      }
      for (const pid of pids) expect(isAlive(pid)).toBe(false)
    } finally {
      killChromiumsOf("parser")
      bayut.stop()
    }
  }, 60_000)
})
