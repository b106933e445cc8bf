import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  setDefaultTimeout,
  test,
} from "bun:test"
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
import { and, asc, eq } from "drizzle-orm"
import { Duration, Effect, Fiber, Layer, ManagedRuntime, Metric, Option, Redacted } from "effect"
import { type BayutConfig, bayutSource } from "./BayutSource.ts"
import { bayutHit, FakeBayut, type FakeBayutListing } from "./FakeBayut.ts"
import { defaultFetchOptions, Fetcher } from "./Fetcher.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import {
  dueForWatch,
  type PriceWatchSettings,
  type WatchReport,
  watchPrices,
} from "./PriceWatch.ts"
import { defaultHealthPolicy } from "./SourceHealth.ts"
import { type RunReport, type RunSettings, runSource } from "./SourceRun.ts"
import { sourceTicks } from "./SourceScheduler.ts"

setDefaultTimeout(30_000)

const runtime = ManagedRuntime.make(
  Layer.mergeAll(TestDatabase.layer("parser-price-watch-test"), Fetcher.Default, Markets.layer()),
)
const run = <A, E>(effect: Effect.Effect<A, E, Database | Fetcher | Markets>) =>
  runtime.runPromise(effect)
beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

const DAY = 86_400_000
const settings: RunSettings = { policy: defaultHealthPolicy, adminIds: [] }
const watchSettings: PriceWatchSettings = {
  window: Duration.days(30),
  goneAfter: Duration.days(3),
  maxListings: 100,
}

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
  hitsPerPage: 25,
  maxPages: 10,
  overlap: Duration.minutes(10),
  initialLookback: Duration.days(30),
  detailPages: false,
  detailConcurrency: 1,
  watchBatchSize: 50,
  fetch: {
    ...defaultFetchOptions("bayut"),
    timeout: Duration.seconds(5),
    retries: 2,
    backoff: Duration.millis(5),
    politeness: Duration.zero,
  },
  ...overrides,
})
const source = (overrides: Partial<BayutConfig> = {}) => bayutSource(bayutConfig(overrides))
const crawl = () => run(runSource(source(), settings))
const watch = (
  options: { readonly config?: Partial<BayutConfig>; readonly settings?: PriceWatchSettings } = {},
) => run(watchPrices(source(options.config), options.settings ?? watchSettings))

const nowSeconds = () => Math.floor(Date.now() / 1000)
/** Listed on Bayut a week ago (a crawl reads it only on its first run, from the lookback). */
const WEEK_AGO = nowSeconds() - 7 * 86_400
/** Listed ten minutes ago: the newest, so the crawl's cursor (minus its overlap) is past a week ago. */
const RECENT = nowSeconds() - 600
const flat = (id: number, extra: Partial<FakeBayutListing> = {}): FakeBayutListing => ({
  id: String(id),
  createdAt: WEEK_AGO + id,
  price: 10000,
  rooms: 1,
  neighbourhood: "Dubai Marina",
  furnished: true,
  ...extra,
})
const priceOf = (id: number, price: number) => {
  fake.listings = fake.listings.map((l) => (l.id === String(id) ? { ...l, price } : l))
}

/** A user with a subscription covering now and one filter. */
const subscriber = (id: number, filter: Partial<typeof filters.$inferInsert> = {}) =>
  run(
    Database.query(async (db) => {
      await db.insert(users).values({ id, chatId: id })
      await db.insert(subscriptions).values({
        userId: id,
        plan: "month",
        startsAt: new Date(Date.now() - DAY),
        endsAt: new Date(Date.now() + 30 * DAY),
      })
      await db.insert(filters).values({ userId: id, name: "flat", market: "dubai", ...filter })
    }),
  )

/** The outbox sent every queued `listing` alert, `daysAgo` days ago. */
const sendListingAlerts = (daysAgo: number) =>
  run(
    Database.query((db) =>
      db
        .update(deliveries)
        .set({ status: "sent", sentAt: new Date(Date.now() - daysAgo * DAY) })
        .where(and(eq(deliveries.kind, "listing"), eq(deliveries.status, "pending"))),
    ),
  )

const alerts = (kind: "listing" | "price_drop") =>
  run(
    Database.query((db) =>
      db
        .select({
          userId: deliveries.userId,
          externalId: listings.externalId,
          payload: deliveries.payload,
        })
        .from(deliveries)
        .innerJoin(listings, eq(listings.id, deliveries.listingId))
        .where(eq(deliveries.kind, kind))
        .orderBy(asc(deliveries.id)),
    ),
  )
const listing = (externalId: string) =>
  run(
    Database.query((db) =>
      db
        .select()
        .from(listings)
        .where(and(eq(listings.source, "bayut"), eq(listings.externalId, externalId))),
    ),
  ).then((rows) => rows[0])
const history = (externalId: string) =>
  run(
    Database.query((db) =>
      db
        .select({ price: listingPrices.price })
        .from(listingPrices)
        .innerJoin(listings, eq(listings.id, listingPrices.listingId))
        .where(eq(listings.externalId, externalId))
        .orderBy(asc(listingPrices.id)),
    ),
  ).then((rows) => rows.map((r) => r.price))
const state = () =>
  run(
    Database.query((db) => db.select().from(sourceState).where(eq(sourceState.source, "bayut"))),
  ).then((rows) => rows[0])
const runs = () =>
  run(Database.query((db) => db.select().from(sourceRuns).orderBy(asc(sourceRuns.id))))

const ran = <R extends RunReport | WatchReport>(report: R) => {
  if (report._tag !== "Ran") throw new Error(`expected a run, got ${JSON.stringify(report)}`)
  return report as Extract<R, { _tag: "Ran" }>
}

/** Listings stored by a crawl with nobody subscribed, then sent by hand to `userId`. */
const delivered = async (
  rows: ReadonlyArray<{
    readonly externalId: string
    readonly userId: number
    readonly daysAgo: number
    readonly status?: "sent" | "pending"
  }>,
) => {
  const stored = await run(Database.query((db) => db.select().from(listings)))
  const idOf = new Map(stored.map((l) => [l.externalId, l.id]))
  await run(
    Database.query((db) =>
      db.insert(deliveries).values(
        rows.map((r) => ({
          userId: r.userId,
          chatId: r.userId,
          kind: "listing" as const,
          listingId: idOf.get(r.externalId) ?? -1,
          dedupeKey: `listing:${r.userId}:${idOf.get(r.externalId)}`,
          status: r.status ?? ("sent" as const),
          sentAt: r.status === "pending" ? null : new Date(Date.now() - r.daysAgo * DAY),
        })),
      ),
    ),
  )
}

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}

describe("the price watch (Bayut)", () => {
  test("a listing delivered a week ago drops its price: the crawl never sees it, the watch alerts the user who got it, once", async () => {
    fake.listings = [flat(1, { price: 12000 }), flat(2, { createdAt: RECENT })]
    await subscriber(1)
    await subscriber(2)
    await subscriber(3)
    ran(await crawl())
    expect((await alerts("listing")).map((a) => `${a.userId}:${a.externalId}`).sort()).toEqual([
      "1:1",
      "1:2",
      "2:1",
      "2:2",
      "3:1",
      "3:2",
    ])
    await sendListingAlerts(7)
    const cursor = (await state())?.cursor
    expect(cursor).toBe(String(RECENT))

    // A week later: user 2 now wants at most 10,000; user 3's subscription has ended; user 4
    // subscribes with a budget of 11,000 (never got the listing). The landlord lowers the rent.
    await run(
      Database.query(async (db) => {
        await db.update(filters).set({ priceMax: 10000 }).where(eq(filters.userId, 2))
        await db
          .update(subscriptions)
          .set({ endsAt: new Date(Date.now() - 3_600_000) })
          .where(eq(subscriptions.userId, 3))
      }),
    )
    await subscriber(4, { priceMax: 11000 })
    priceOf(1, 10500)

    // The crawl reads only what is newer than its cursor: it does not notice.
    expect(ran(await crawl())).toMatchObject({ outcome: "ok", updated: 0, queued: 0 })
    expect((await listing("1"))?.price).toBe(12000)

    const checked = async () =>
      (await Effect.runPromise(Metric.value(ParserMetrics.watchChecked("bayut")))).count
    const changed = async () =>
      (await Effect.runPromise(Metric.value(ParserMetrics.watchChanged("bayut")))).count
    const [checkedBefore, changedBefore] = [await checked(), await changed()]

    const report = ran(await watch())
    expect(report).toMatchObject({
      outcome: "ok",
      requests: 1,
      asked: 2,
      checked: 2,
      found: 2,
      missing: 0,
      changed: 1,
      queuedPriceDrop: 1,
      queuedListing: 1,
      error: null,
    })
    expect(fake.idQueries.map((ids) => ids.toSorted())).toEqual([["1", "2"]])
    expect((await listing("1"))?.price).toBe(10500)
    expect(await history("1")).toEqual([12000, 10500])
    // "was 12,000, now 10,500" for user 1 only: user 2 no longer matches, user 3 has no access,
    // user 4 never got it (the drop brings it into their budget: a first alert, as on a crawl).
    expect(await alerts("price_drop")).toEqual([
      { userId: 1, externalId: "1", payload: { oldPrice: 12000, newPrice: 10500 } },
    ])
    expect((await alerts("listing")).filter((a) => a.userId === 4)).toMatchObject([
      { externalId: "1" },
    ])
    expect((await checked()) - checkedBefore).toBe(2)
    expect((await changed()) - changedBefore).toBe(1)

    // The run is told apart from crawls; the crawl's cursor and health are its own.
    expect((await runs()).map((r) => [r.kind, r.outcome, r.pages, r.found, r.updated])).toEqual([
      ["crawl", "ok", 1, 2, 0],
      ["crawl", "ok", 1, 1, 0],
      ["price_watch", "ok", 1, 2, 1],
    ])
    expect((await state())?.cursor).toBe(cursor)
    expect((await listing("1"))?.priceCheckedAt).not.toBeNull()

    // Asked again: the same price, nothing new.
    expect(ran(await watch())).toMatchObject({ changed: 0, queuedPriceDrop: 0 })
    expect(await alerts("price_drop")).toHaveLength(1)
  })

  test("a price rise records history and alerts nobody", async () => {
    fake.listings = [flat(1)]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(2)
    priceOf(1, 11000)
    expect(ran(await watch())).toMatchObject({ changed: 1, queuedPriceDrop: 0, queuedListing: 0 })
    expect(await history("1")).toEqual([10000, 11000])
    expect((await listing("1"))?.price).toBe(11000)
    expect(await alerts("price_drop")).toEqual([])
    expect(await alerts("listing")).toHaveLength(1)
  })

  test("drops to a price seen before alert again: 9000 -> 8000 -> 9000 -> 8000", async () => {
    fake.listings = [flat(1, { price: 9000 })]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(1)
    for (const price of [8000, 9000, 8000]) {
      priceOf(1, price)
      ran(await watch())
    }
    expect(await history("1")).toEqual([9000, 8000, 9000, 8000])
    expect((await alerts("price_drop")).map((a) => a.payload)).toEqual([
      { oldPrice: 9000, newPrice: 8000 },
      { oldPrice: 9000, newPrice: 8000 },
    ])
  })

  test("watches only listings sent within the window to users who still receive alerts", async () => {
    fake.listings = [1, 2, 3, 4, 5, 6].map((id) => flat(id))
    ran(await crawl())
    await subscriber(1)
    await subscriber(2)
    await subscriber(3)
    await run(
      Database.query((db) => db.update(users).set({ pausedAt: new Date() }).where(eq(users.id, 2))),
    )
    await run(
      Database.query((db) =>
        db.update(subscriptions).set({ status: "expired" }).where(eq(subscriptions.userId, 3)),
      ),
    )
    await delivered([
      { externalId: "1", userId: 1, daysAgo: 3 },
      { externalId: "2", userId: 1, daysAgo: 40 }, // outside the 30-day window
      { externalId: "3", userId: 2, daysAgo: 3 }, // paused
      { externalId: "4", userId: 3, daysAgo: 3 }, // no access any more
      { externalId: "5", userId: 1, daysAgo: 0, status: "pending" }, // not sent yet
      { externalId: "6", userId: 2, daysAgo: 3 }, // paused, but...
      { externalId: "6", userId: 1, daysAgo: 29 }, // ...user 1 got it too
    ])
    expect(ran(await watch())).toMatchObject({ asked: 2, checked: 2 })
    expect(fake.idQueries.map((ids) => ids.toSorted())).toEqual([["1", "6"]])

    // Nothing due: no run, no request.
    await run(Database.query((db) => db.update(users).set({ pausedAt: new Date() })))
    expect(await watch()).toMatchObject({ _tag: "Skipped", reason: "idle" })
    expect(fake.idQueries).toHaveLength(1)
    expect((await runs()).filter((r) => r.kind === "price_watch")).toHaveLength(1)
  })

  test("asks in batches, at most maxListings per run, the longest unchecked first", async () => {
    fake.listings = [1, 2, 3, 4, 5, 6, 7].map((id) => flat(id))
    ran(await crawl())
    await subscriber(1)
    await delivered(
      [1, 2, 3, 4, 5, 6, 7].map((id) => ({ externalId: String(id), userId: 1, daysAgo: 1 })),
    )
    const options = {
      config: { watchBatchSize: 3 },
      settings: { ...watchSettings, maxListings: 6 },
    }
    expect(ran(await watch(options))).toMatchObject({ requests: 2, asked: 6, checked: 6 })
    expect(fake.idQueries.map((ids) => ids.length)).toEqual([3, 3])
    const firstRun = fake.idQueries.flat()
    expect(new Set(firstRun).size).toBe(6)
    const left = ["1", "2", "3", "4", "5", "6", "7"].filter((id) => !firstRun.includes(id))
    expect(left).toHaveLength(1)
    // The one left out has waited longest now: it comes first.
    expect(ran(await watch(options))).toMatchObject({ requests: 2, asked: 6 })
    expect(fake.idQueries[2]?.[0]).toBe(left[0])
  })

  test("a listing the source no longer has is marked, then no longer asked about after goneAfter; one that comes back is watched again", async () => {
    fake.listings = [flat(1), flat(2), flat(3)]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(5)
    const missingBefore = (
      await Effect.runPromise(Metric.value(ParserMetrics.watchMissing("bayut")))
    ).count
    // Listing 1 is rented; listing 2 is taken down for a while.
    fake.listings = [flat(3)]
    expect(ran(await watch())).toMatchObject({ checked: 3, found: 1, missing: 2 })
    const first = await listing("1")
    expect(first?.missingSince).not.toBeNull()
    expect(first?.priceCheckedAt).toEqual(first?.missingSince ?? null)
    expect((await listing("3"))?.missingSince).toBeNull()
    expect(
      (await Effect.runPromise(Metric.value(ParserMetrics.watchMissing("bayut")))).count -
        missingBefore,
    ).toBe(2)

    // Still asked about for a while (it may come back), the first miss kept.
    ran(await watch())
    expect(fake.idQueries.at(-1)?.toSorted()).toEqual(["1", "2", "3"])
    expect((await listing("1"))?.missingSince).toEqual(first?.missingSince ?? null)

    // Listing 2 is back (reactivated), at a lower price: watched and alerted as before.
    fake.listings = [flat(2, { price: 9500 }), flat(3)]
    expect(ran(await watch())).toMatchObject({ found: 2, missing: 1, queuedPriceDrop: 1 })
    expect((await listing("2"))?.missingSince).toBeNull()

    // Three days after listing 1 went missing (PARSER_PRICE_WATCH_GONE_AFTER), it is left alone.
    await run(
      Database.query((db) =>
        db
          .update(listings)
          .set({ missingSince: new Date(Date.now() - 3 * DAY - 60_000) })
          .where(eq(listings.externalId, "1")),
      ),
    )
    ran(await watch())
    expect(fake.idQueries.at(-1)?.toSorted()).toEqual(["2", "3"])
  })

  test("a blocked watch: the crawl cursor, status and back-off stay; nothing is marked; the next watch asks again", async () => {
    fake.listings = [flat(1), flat(2, { createdAt: RECENT })]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(2)
    const before = await state()
    priceOf(1, 9000)
    fake.override({ status: 403, body: '{"message":"Forbidden"}' })

    const report = ran(await watch())
    expect(report).toMatchObject({ outcome: "blocked", requests: 0, checked: 0, changed: 0 })
    expect(report.error).toContain("403")
    const after = await state()
    expect(after).toEqual(before)
    expect((await runs()).at(-1)).toMatchObject({
      kind: "price_watch",
      outcome: "blocked",
      found: 0,
      updated: 0,
    })
    expect(await listing("1")).toMatchObject({
      price: 10000,
      priceCheckedAt: null,
      missingSince: null,
    })
    expect(await alerts("price_drop")).toEqual([])

    // The crawl still runs (no back-off from the watch), and the next watch finds the drop.
    expect(ran(await crawl())).toMatchObject({ outcome: "ok", status: "ok" })
    expect(ran(await watch())).toMatchObject({ outcome: "ok", changed: 1, queuedPriceDrop: 1 })
  })

  test("a watch that fails half-way keeps what it read and leaves the rest due", async () => {
    fake.listings = [flat(1), flat(2)]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(2)
    priceOf(1, 9000)
    priceOf(2, 9000)
    const [firstId, secondId] = await run(dueForWatch("bayut", watchSettings, new Date()))
    if (firstId === undefined || secondId === undefined) throw new Error("both are due")
    // The first batch is answered (its listing at the new price), then the API keeps failing.
    const first = fake.listings.filter((l) => l.id === firstId).map(bayutHit)
    fake.override(
      { body: JSON.stringify({ results: [{ hits: first, nbHits: 1, page: 0, nbPages: 1 }] }) },
      { status: 500, body: "oops" },
      { status: 500, body: "oops" },
      { status: 500, body: "oops" },
    )
    const report = ran(await watch({ config: { watchBatchSize: 1 } }))
    expect(report).toMatchObject({ outcome: "failed", requests: 1, checked: 1, changed: 1 })
    expect(await listing(firstId)).toMatchObject({ price: 9000 })
    expect(await listing(secondId)).toMatchObject({ price: 10000, priceCheckedAt: null })
    expect((await alerts("price_drop")).map((a) => a.externalId)).toEqual([firstId])
    expect((await state())?.status).toBe("ok")

    // The other one has waited longest now: it is asked first next time.
    ran(await watch({ config: { watchBatchSize: 1 } }))
    expect(fake.idQueries.slice(-2)).toEqual([[secondId], [firstId]])
    expect((await alerts("price_drop")).map((a) => a.externalId)).toEqual([firstId, secondId])
  })

  test("skipped while the source backs off after a block", async () => {
    fake.listings = [flat(1)]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(2)
    fake.override({ status: 403, body: "{}" })
    expect(ran(await crawl())).toMatchObject({ outcome: "blocked" })
    const requests = fake.apiRequests
    expect(await watch()).toMatchObject({ _tag: "Skipped", reason: "backoff" })
    expect(fake.apiRequests).toBe(requests)
  })
})

describe("the price watch and the crawl of a source never run at once", () => {
  const prepare = async () => {
    fake.listings = [flat(1), flat(2, { createdAt: RECENT })]
    await subscriber(1)
    ran(await crawl())
    await sendListingAlerts(2)
    priceOf(1, 9000)
  }

  test("across processes: a watch while a crawl holds the source's lock asks nothing", async () => {
    await prepare()
    const release = fake.hold()
    const crawling = runtime.runFork(runSource(source(), settings))
    try {
      await until("the crawl's request", () => fake.apiRequests === 2)
      expect(await watch()).toMatchObject({ _tag: "Skipped", reason: "locked" })
      expect(fake.idQueries).toEqual([])
    } finally {
      release()
    }
    expect(ran(await runtime.runPromise(Fiber.join(crawling)))).toMatchObject({ outcome: "ok" })
    expect(ran(await watch())).toMatchObject({ changed: 1 })
  })

  const scheduled = () => ({
    source: source(),
    cron: "0 0 1 1 *",
    policy: defaultHealthPolicy,
    priceWatch: { cron: "0 0 1 1 *", settings: watchSettings },
  })
  const ticks = () =>
    run(
      sourceTicks(scheduled(), {
        jitter: Duration.zero,
        runOnStart: false,
        settings,
        // A watch that did not wait for the crawl in this process would find the lock held and
        // give up at once.
        lockRetry: { times: 0, delay: Duration.zero },
      }),
    )
  /** Gives a tick that does not wait its turn the time to try the lock (absence takes time). */
  const settle = () => Bun.sleep(300)
  const runKinds = async () =>
    (await runs()).map((r) => ({
      kind: r.kind,
      startedAt: r.startedAt.getTime(),
      finishedAt: r.finishedAt?.getTime() ?? Number.NaN,
    }))

  test("in one process: a watch due during a crawl waits for it, then runs", async () => {
    await prepare()
    const { crawl: crawlTick, watch: watchTick } = await ticks()
    if (Option.isNone(watchTick)) throw new Error("the source has a price watch")
    const release = fake.hold()
    const crawling = runtime.runFork(crawlTick)
    let watching: Fiber.RuntimeFiber<Option.Option<WatchReport>, unknown> | undefined
    try {
      await until("the crawl's request", () => fake.apiRequests === 2)
      watching = runtime.runFork(watchTick.value)
      await settle()
      expect(fake.idQueries).toEqual([])
    } finally {
      release()
    }
    const crawled = Option.getOrThrow(await runtime.runPromise(Fiber.join(crawling)))
    expect(ran(crawled)).toMatchObject({ outcome: "ok" })
    if (watching === undefined) throw new Error("the watch was not started")
    const watched = Option.getOrThrow(await runtime.runPromise(Fiber.join(watching)))
    expect(ran(watched)).toMatchObject({ outcome: "ok", changed: 1 })
    const [, crawlRun, watchRun] = await runKinds()
    expect([crawlRun?.kind, watchRun?.kind]).toEqual(["crawl", "price_watch"])
    expect(watchRun?.startedAt ?? 0).toBeGreaterThanOrEqual(crawlRun?.finishedAt ?? Infinity)
  })

  test("in one process: a crawl due during a watch waits for it, then runs", async () => {
    await prepare()
    const { crawl: crawlTick, watch: watchTick } = await ticks()
    if (Option.isNone(watchTick)) throw new Error("the source has a price watch")
    const release = fake.hold()
    const watching = runtime.runFork(watchTick.value)
    let crawling: Fiber.RuntimeFiber<Option.Option<RunReport>, unknown> | undefined
    try {
      await until("the watch's request", () => fake.idQueries.length === 1)
      crawling = runtime.runFork(crawlTick)
      await settle()
      expect(fake.apiRequests).toBe(2)
    } finally {
      release()
    }
    expect(ran(Option.getOrThrow(await runtime.runPromise(Fiber.join(watching))))).toMatchObject({
      changed: 1,
    })
    if (crawling === undefined) throw new Error("the crawl was not started")
    expect(ran(Option.getOrThrow(await runtime.runPromise(Fiber.join(crawling))))).toMatchObject({
      outcome: "ok",
    })
    const [, watchRun, crawlRun] = await runKinds()
    expect([watchRun?.kind, crawlRun?.kind]).toEqual(["price_watch", "crawl"])
    expect(crawlRun?.startedAt ?? 0).toBeGreaterThanOrEqual(watchRun?.finishedAt ?? Infinity)
  })
})

test("listings of another source are not asked about", async () => {
  fake.listings = [flat(1)]
  await subscriber(1)
  ran(await crawl())
  await sendListingAlerts(1)
  await run(Database.query((db) => db.update(listings).set({ source: "avito" })))
  expect(await watch()).toMatchObject({ _tag: "Skipped", reason: "idle" })
  expect(fake.idQueries).toEqual([])
})
