/**
 * One Bayut run of 5 API pages (125 listings) from the local fake Bayut to committed deliveries:
 * fetch, parse, validate, store, price history, matching against 2,500 filters of 1,000
 * subscribers, cursor and run bookkeeping, in a fresh database. Politeness delay set to 0.
 * Target: < 1 s. Run: bun bench/parser-bayut-run.bench.ts
 */
import { Database } from "@flatwatch/db/Database"
import { loadMarkets, Markets } from "@flatwatch/market/Markets"
import { bayutSource } from "@flatwatch/parser/BayutSource"
import { FakeBayut, type FakeBayutListing } from "@flatwatch/parser/FakeBayut"
import { defaultFetchOptions, Fetcher } from "@flatwatch/parser/Fetcher"
import { defaultHealthPolicy } from "@flatwatch/parser/SourceHealth"
import { runSource } from "@flatwatch/parser/SourceRun"
import { Duration, Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import * as BenchDatabase from "./support/BenchDatabase.ts"

const ROUNDS = 5
const PAGES = 5
const PER_PAGE = 25
const USERS = 1_000
const NEIGHBOURHOODS = [
  "Dubai Marina",
  "Downtown Dubai",
  "Business Bay",
  "Jumeirah Village Circle (JVC)",
  "Al Barsha",
  "Palm Jumeirah",
]

const DUBAI_DISTRICT_GROUP_NAMES =
  (await Effect.runPromise(loadMarkets())).get("dubai")?.districtGroups.map((g) => g.name) ?? []
const fake = FakeBayut.start()
const runtime = ManagedRuntime.make(
  Layer.mergeAll(
    BenchDatabase.layer("bench-bayut-run"),
    Fetcher.Default,
    Markets.layer(),
    Logger.minimumLogLevel(LogLevel.Warning),
  ),
)
const now = Math.floor(Date.now() / 1000)

const listingsFor = (round: number): Array<FakeBayutListing> =>
  Array.from({ length: PAGES * PER_PAGE }, (_, i) => ({
    id: String(round * 10_000 + i),
    createdAt: now - 3_000 + round * 200 + i,
    price: 40_000 + ((i * 7_919) % 200_000),
    rentFrequency: "yearly",
    rooms: i % 5,
    neighbourhood: NEIGHBOURHOODS[i % NEIGHBOURHOODS.length] ?? "Dubai Marina",
    furnished: i % 2 === 0,
  }))

const subscribers = Database.sql(async (sql) => {
  const users = Array.from({ length: USERS }, (_, i) => ({
    id: 5_000_000 + i,
    chat_id: 5_000_000 + i,
  }))
  await sql`insert into users ${sql(users)}`
  await sql`insert into subscriptions ${sql(
    users.map((u) => ({
      user_id: u.id,
      plan: "month",
      starts_at: new Date(Date.now() - 86_400_000).toISOString(),
      ends_at: new Date(Date.now() + 86_400_000).toISOString(),
    })),
  )}`
  await sql`insert into filters ${sql(
    Array.from({ length: USERS * 2.5 }, (_, i) => ({
      user_id: users[i % USERS]?.id ?? 0,
      name: `f${i}`,
      market: "dubai",
      district_groups: `{"${DUBAI_DISTRICT_GROUP_NAMES[i % 19]}"}`,
      rooms: `{${i % 6}}`,
      price_max: 5_000 + (i % 20) * 1_000,
    })),
  )}`
  await sql`analyze`
})

const source = bayutSource({
  id: "bayut",
  market: "dubai",
  apiUrl: fake.url,
  appId: "BENCH",
  apiKey: Redacted.make("bench"),
  index: "bayut-production-ads-en",
  siteUrl: fake.url,
  hitsPerPage: PER_PAGE,
  maxPages: 20,
  overlap: Duration.minutes(10),
  initialLookback: Duration.hours(2),
  detailPages: true,
  detailConcurrency: 2,
  fetch: { ...defaultFetchOptions("bayut"), politeness: Duration.zero },
})
const settings = { policy: defaultHealthPolicy, adminIds: [] }

const main = Effect.gen(function* () {
  yield* subscribers
  const times: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    // Each round brings 125 listings newer than the last cursor: 5 pages to read and store.
    fake.listings = listingsFor(round)
    const started = performance.now()
    const report = yield* runSource(source, settings)
    const ms = performance.now() - started
    times.push(ms)
    if (report._tag === "Ran") {
      console.log(
        `run ${round + 1}: ${ms.toFixed(0)} ms, ${report.pages} pages, ${report.created} new listings, ${report.queued} alerts committed`,
      )
    }
  }
  const sorted = [...times].sort((a, b) => a - b)
  console.log(
    `Bayut run, ${PAGES} pages to committed deliveries: median ${sorted[Math.floor(ROUNDS / 2)]?.toFixed(0)} ms (first run ${times[0]?.toFixed(0)} ms, cold); target < 1 s`,
  )
})

await runtime.runPromise(main).finally(async () => {
  await runtime.dispose()
  fake.stop()
})
