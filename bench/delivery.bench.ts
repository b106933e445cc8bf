/**
 * Delivery benchmarks (issue 4): the outbox sender against the fake Bot API with Telegram's
 * limits on (30 msg/s overall, 1 msg/s per chat), on a real PostgreSQL.
 *
 * 1. Throughput: 10,000 alerts to 2,000 users at the parser's default 25 msg/s (~7 minutes);
 *    sustained rate vs. the configured one, 429s, and database round trips per message
 *    (transactions committed on the benchmark's database while the sender ran).
 * 2. Latency on an empty queue: insert (commit) -> the user has the message, and -> the row is
 *    `sent`; with the NOTIFY trigger, then with polling only (trigger dropped).
 *
 * Run: `bun bench/delivery.bench.ts`. Uses TEST_DATABASE_URL, else starts an embedded
 * PostgreSQL in a temporary folder. Smaller runs: BENCH_DELIVERY_ALERTS, BENCH_DELIVERY_USERS,
 * BENCH_DELIVERY_RATE, BENCH_DELIVERY_SAMPLES.
 */
import { rmSync } from "node:fs"
import { join } from "node:path"
import { Database } from "@flatwatch/db/Database"
import { makeTempDir, start as startPostgres } from "@flatwatch/db/EmbeddedPostgres"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import {
  queueAlerts,
  seedListings,
  seedUsers,
  statusCounts,
} from "@flatwatch/telegram/DeliveryFixtures"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import * as OutboxSender from "@flatwatch/telegram/OutboxSender"
import { Effect, Exit, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Scope } from "effect"
import postgres from "postgres"

const TOKEN = "123456:BENCH-token_abcdefghijklmnopqrstuvwxyz"
const intEnv = (name: string, fallback: number) => {
  const raw = process.env[name]
  const n = raw === undefined ? fallback : Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`)
  return n
}
const ALERTS = intEnv("BENCH_DELIVERY_ALERTS", 10_000)
const USERS = intEnv("BENCH_DELIVERY_USERS", 2_000)
const RATE = intEnv("BENCH_DELIVERY_RATE", 25)
const SAMPLES = intEnv("BENCH_DELIVERY_SAMPLES", 200)

const quiet = Logger.minimumLogLevel(LogLevel.Warning)
const cleanups: Array<() => Promise<void>> = []

// --- PostgreSQL: the one given, or an embedded one for this run ---
if (!process.env.TEST_DATABASE_URL) {
  const dir = makeTempDir("flatwatch-bench-delivery-")
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(
    startPostgres({ dataDir: join(dir, "data"), database: "postgres" }).pipe(
      Scope.extend(scope),
      Logger.withMinimumLogLevel(LogLevel.Warning),
    ),
  )
  process.env.TEST_DATABASE_URL = Redacted.value(pg.adminUrl)
  cleanups.push(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  })
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
const fmt = (ms: number) => `${ms.toFixed(1)} ms`

/** A fresh migrated database: its URL, a runtime with a `Database` on it, and its cleanup. */
const freshDatabase = async () => {
  const scope = Effect.runSync(Scope.make())
  const db = await Effect.runPromise(
    Scope.extend(TestDatabase.make, scope).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
  )
  const runtime = ManagedRuntime.make(
    Layer.merge(Database.layer({ url: db.url, component: "bench-setup" }), quiet),
  )
  return {
    db,
    runtime,
    close: async () => {
      await runtime.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    },
  }
}

/** Runs a sender with its own pool, so its database work can be told apart. */
const runSender = async (
  url: Redacted.Redacted<string>,
  options: Partial<OutboxSender.OutboxSenderOptions>,
  fake: FakeBotApi,
) => {
  const runtime = ManagedRuntime.make(
    OutboxSender.layer({
      name: "bench",
      kinds: OutboxSender.presets.parser.kinds,
      token: Redacted.make(TOKEN),
      apiRoot: fake.apiRoot,
      rate: RATE,
      ...options,
    }).pipe(
      Layer.provide(Database.layer({ url, component: "bench-sender" })),
      Layer.provide(quiet),
    ),
  )
  await runtime.runPromise(Effect.void)
  return () => runtime.dispose()
}

const committedTransactions = async (serverUrl: string, name: string) => {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<
      { n: string }[]
    >`select xact_commit::text as n from pg_stat_database where datname = ${name}`
    return Number(row?.n ?? Number.NaN)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

async function throughput() {
  const fake = await FakeBotApi.start({ tokens: [TOKEN] })
  fake.limits.rateLimit({ global: 30, perChat: 1 })
  const { db, runtime, close } = await freshDatabase()
  try {
    const listingCount = Math.ceil(ALERTS / USERS)
    const users = await runtime.runPromise(seedUsers(1, USERS))
    const listings = await runtime.runPromise(
      seedListings(
        Array.from({ length: listingCount }, (_, i) =>
          i % 2 === 0 ? { photos: [`https://img.test/${i}.jpg`] } : {},
        ),
      ),
    )
    const queued = await runtime.runPromise(queueAlerts(listings, users))
    // Let the setup connection's statistics reach pg_stat_database before the baseline.
    await runtime.dispose()
    await Bun.sleep(1500)
    const server = process.env.TEST_DATABASE_URL ?? ""
    const before = await committedTransactions(server, db.name)

    console.log(
      `throughput: ${queued} alerts to ${USERS} users, sender at ${RATE} msg/s, fake limits 30 msg/s and 1 msg/s per chat`,
    )
    const started = performance.now()
    const stop = await runSender(db.url, {}, fake)
    let lastReport = started
    while (fake.limits.delivered.length < queued) {
      await fake.limits.waitForDelivered(
        Math.min(queued, fake.limits.delivered.length + 1),
        120_000,
      )
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now()
        console.log(
          `  ... ${fake.limits.delivered.length} delivered after ${((lastReport - started) / 1000).toFixed(0)} s`,
        )
      }
    }
    const wall = performance.now() - started
    await stop()
    await Bun.sleep(1500) // the sender's backends have exited; their statistics are flushed
    const after = await committedTransactions(server, db.name)

    const delivered = fake.limits.delivered
    const first = delivered[0]?.at ?? 0
    const last = delivered[delivered.length - 1]?.at ?? 0
    const sustained = (delivered.length - 1) / ((last - first) / 1000)
    const lastByChat = new Map<number, number>()
    let minGap = Number.POSITIVE_INFINITY
    for (const m of delivered) {
      const prev = lastByChat.get(m.chatId)
      if (prev !== undefined) minGap = Math.min(minGap, m.at - prev)
      lastByChat.set(m.chatId, m.at)
    }
    const check = ManagedRuntime.make(
      Layer.merge(Database.layer({ url: db.url, component: "bench-check" }), quiet),
    )
    const counts = await check.runPromise(statusCounts)
    await check.dispose()
    const transactions = after - before
    console.log(
      `  delivered          ${delivered.length} in ${(wall / 1000).toFixed(1)} s (all rows: ${JSON.stringify(counts)})`,
    )
    console.log(
      `  sustained rate     ${sustained.toFixed(2)} msg/s = ${((sustained / RATE) * 100).toFixed(1)}% of the configured ${RATE} msg/s (target >= 95%)`,
    )
    console.log(`  429 answers        ${fake.limits.rateLimitedAnswers} (target 0)`)
    console.log(`  min gap per chat   ${minGap} ms (limit 1000 ms)`)
    console.log(
      `  DB transactions    ${transactions} = ${(transactions / delivered.length).toFixed(3)} round trips per message (target <= 2; includes lease renewals and the 5 s gauge query)`,
    )
  } finally {
    await close()
    await fake.stop()
  }
}

async function latency(notify: boolean, samples: number) {
  const fake = await FakeBotApi.start({ tokens: [TOKEN] })
  fake.limits.rateLimit({ global: 30, perChat: 1 })
  const { db, runtime, close } = await freshDatabase()
  try {
    if (!notify) {
      await runtime.runPromise(
        Database.sql((sql) => sql`DROP TRIGGER deliveries_notify ON deliveries`),
      )
    }
    const users = await runtime.runPromise(seedUsers(1, samples))
    const [listing = 0] = await runtime.runPromise(seedListings([{}]))
    const stop = await runSender(db.url, {}, fake)
    await Bun.sleep(300) // the sender's first (empty) claim is done: the queue is idle
    const toUser: number[] = []
    const toSent: number[] = []
    for (const user of users) {
      const t0 = performance.now()
      await runtime.runPromise(queueAlerts([listing], [user]))
      await fake.limits.waitForDelivered(toUser.length + 1, 10_000)
      toUser.push(performance.now() - t0)
      const key = `listing:${user}:${listing}`
      for (;;) {
        const [row] = await runtime.runPromise(
          Database.sql(
            (sql) =>
              sql<{ status: string }[]>`select status from deliveries where dedupe_key = ${key}`,
          ),
        )
        if (row?.status === "sent") break
        await Bun.sleep(1)
      }
      toSent.push(performance.now() - t0)
      // Polling only: arrivals at random moments of the poll cycle, as in real life.
      await Bun.sleep(notify ? 50 : 50 + Math.random() * 1000)
    }
    await stop()
    const a = toUser.toSorted((x, y) => x - y)
    const b = toSent.toSorted((x, y) => x - y)
    console.log(
      `latency ${notify ? "with NOTIFY" : "polling only (SEND_POLL_INTERVAL 1 s)"}, ${samples} single inserts into an idle queue:`,
    )
    console.log(
      `  insert -> user has it   p50 ${fmt(percentile(a, 50))}  p95 ${fmt(percentile(a, 95))}  p99 ${fmt(percentile(a, 99))}  max ${fmt(percentile(a, 100))}`,
    )
    console.log(
      `  insert -> row 'sent'    p50 ${fmt(percentile(b, 50))}  p95 ${fmt(percentile(b, 95))}  p99 ${fmt(percentile(b, 99))}  max ${fmt(percentile(b, 100))}  (target p95 < 100 ms)`,
    )
  } finally {
    await close()
    await fake.stop()
  }
}

try {
  await latency(true, SAMPLES)
  await latency(false, Math.min(SAMPLES, 50))
  await throughput()
} finally {
  for (const cleanup of cleanups) await cleanup()
}
