/**
 * One subscriptions worker tick over 100,000 subscriptions of which 1,000 are due (400 ended a
 * moment ago, 300 reach their 3-day reminder, 300 their 1-day reminder), with ~330,000 rows in
 * the outbox. Prints the time of the tick, of an idle tick (the cost every minute), and the
 * EXPLAIN ANALYZE of the tick's queries. Target: < 500 ms.
 *
 * Run: `bun bench/subscriptions-tick.bench.ts` (uses TEST_DATABASE_URL, else starts an embedded
 * PostgreSQL in a temporary directory and removes it afterwards).
 */
import { rmSync } from "node:fs"
import { join } from "node:path"
import { Database } from "@flatwatch/db/Database"
import { makeTempDir, start } from "@flatwatch/db/EmbeddedPostgres"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import {
  EXPIRE_SQL,
  REMINDER_SQL,
  SubscriptionsWorker,
} from "@flatwatch/subscriptions/SubscriptionsWorker"
import { Effect, Layer, Logger, LogLevel, Redacted, TestClock, TestContext } from "effect"

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0)
const MIN = 60_000
const DAY = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

const serverUrl = Effect.gen(function* () {
  if (process.env.TEST_DATABASE_URL) return
  const dir = makeTempDir("flatwatch-bench-pg-")
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  const pg = yield* start({ dataDir: join(dir, "data"), database: "postgres" })
  process.env.TEST_DATABASE_URL = Redacted.value(pg.adminUrl)
})

/** 90,000 users; 100,000 subscription rows; the outbox already holds the reminders sent. */
const seed = (sql: Database["Type"]["sql"]) =>
  Effect.tryPromise(async () => {
    const now = iso(NOW)
    await sql.unsafe(
      `INSERT INTO users (id, chat_id, language)
       SELECT g, g, (CASE WHEN g % 2 = 0 THEN 'en' ELSE 'ru' END)::language
       FROM generate_series(1, 90000) g`,
    )
    // 20,000 past periods, already expired (users 1..20000).
    await sql.unsafe(
      `INSERT INTO subscriptions (user_id, plan, starts_at, ends_at, status, created_at)
       SELECT g, 'week'::subscription_plan, e - interval '7 days', e, 'expired'::subscription_status, e - interval '7 days'
       FROM generate_series(1, 20000) g,
            LATERAL (SELECT $1::timestamptz - (1 + g % 60) * interval '1 day' AS e) x`,
      [now],
    )
    // 10,000 users with a current period and a queued extension (users 1..10000): 20,000 rows.
    await sql.unsafe(
      `INSERT INTO subscriptions (user_id, plan, starts_at, ends_at, status, created_at)
       SELECT g, 'month'::subscription_plan, e - interval '30 days', e, 'active'::subscription_status, e - interval '30 days'
       FROM generate_series(1, 10000) g,
            LATERAL (SELECT $1::timestamptz + (2 + (g * 7919) % 28798) * interval '1 minute' AS e) x
       UNION ALL
       SELECT g, 'week'::subscription_plan, e, e + interval '7 days', 'active'::subscription_status, e - interval '30 days'
       FROM generate_series(1, 10000) g,
            LATERAL (SELECT $1::timestamptz + (2 + (g * 7919) % 28798) * interval '1 minute' AS e) x`,
      [now],
    )
    // 59,000 single active periods ending over the next 30 days (users 21001..80000).
    await sql.unsafe(
      `INSERT INTO subscriptions (user_id, plan, starts_at, ends_at, status, created_at)
       SELECT g, 'month'::subscription_plan, e - interval '30 days', e, 'active'::subscription_status, e - interval '30 days'
       FROM generate_series(21001, 80000) g,
            LATERAL (SELECT $1::timestamptz + (2 + (g * 7919) % 43190) * interval '1 minute' AS e) x`,
      [now],
    )
    // The 1,000 due: 400 ended within the last minute, 300 at 3 days, 300 at 1 day.
    await sql.unsafe(
      `INSERT INTO subscriptions (user_id, plan, starts_at, ends_at, status, created_at)
       SELECT g, 'week'::subscription_plan, e - interval '7 days', e, 'active'::subscription_status, e - interval '7 days'
       FROM generate_series(20001, 21000) g,
            LATERAL (SELECT CASE
              WHEN g <= 20400 THEN $1::timestamptz - (g % 50) * interval '1 second'
              WHEN g <= 20700 THEN $1::timestamptz + interval '3 days' - (g % 50) * interval '1 second'
              ELSE $1::timestamptz + interval '1 day' - (g % 50) * interval '1 second'
            END AS e) x`,
      [now],
    )
    // Reminders already queued (and sent) for everything else inside a reminder window.
    for (const [key, days, dueFrom, dueTo] of [
      ["3d", 3, 20401, 20700],
      ["1d", 1, 20701, 21000],
    ] as const) {
      await sql.unsafe(
        `INSERT INTO deliveries (user_id, chat_id, kind, dedupe_key, status, payload, sent_at)
         SELECT s.user_id, s.user_id, 'reminder', 'reminder:' || s.id || ':' || $2::text, 'sent',
                '{"text":"…"}'::jsonb, $1::timestamptz
         FROM subscriptions s
         WHERE s.status = 'active' AND s.ends_at > $1::timestamptz
           AND s.ends_at <= $1::timestamptz + $3::int * interval '1 day'
           AND s.user_id NOT BETWEEN $4::bigint AND $5::bigint`,
        [now, key, days, dueFrom, dueTo],
      )
    }
    await sql.unsafe(
      `INSERT INTO deliveries (user_id, chat_id, kind, dedupe_key, status, payload, sent_at)
       SELECT (g % 90000) + 1, (g % 90000) + 1, 'notice', 'notice:bench:' || g, 'sent',
              '{"text":"…"}'::jsonb, $1::timestamptz
       FROM generate_series(1, 300000) g`,
      [now],
    )
    await sql.unsafe("ANALYZE")
    const [counts] = await sql.unsafe<{ subs: string; active: string; outbox: string }[]>(
      `SELECT (SELECT count(*) FROM subscriptions) AS subs,
              (SELECT count(*) FROM subscriptions WHERE status = 'active') AS active,
              (SELECT count(*) FROM deliveries) AS outbox`,
    )
    return counts
  })

const explain = (sql: Database["Type"]["sql"], title: string, text: string, params: unknown[]) =>
  Effect.tryPromise(async () => {
    const conn = await sql.reserve()
    try {
      await conn.unsafe("BEGIN")
      const plan = await conn.unsafe<{ "QUERY PLAN": string }[]>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`,
        params as never[],
      )
      await conn.unsafe("ROLLBACK")
      console.log(`\n--- ${title}\n${plan.map((r) => r["QUERY PLAN"]).join("\n")}`)
    } finally {
      conn.release()
    }
  })

const program = Effect.gen(function* () {
  yield* serverUrl
  const { url } = yield* TestDatabase.make
  const database = yield* Database.make({ url, component: "bench", poolSize: 4 })
  const sql = database.sql
  const seedStart = performance.now()
  const counts = yield* seed(sql)
  console.log(
    `seeded ${counts?.subs} subscriptions (${counts?.active} active), ${counts?.outbox} outbox rows in ${Math.round(performance.now() - seedStart)} ms`,
  )

  const batch = 1000
  yield* explain(sql, "expire (EXPIRE_SQL)", EXPIRE_SQL, [iso(NOW), batch])
  yield* explain(sql, "reminders at 3 days (REMINDER_SQL)", REMINDER_SQL, [
    iso(NOW + DAY),
    iso(NOW + 3 * DAY),
    3 * DAY,
    "3d",
    batch,
  ])
  yield* explain(sql, "reminders at 1 day (REMINDER_SQL)", REMINDER_SQL, [
    iso(NOW),
    iso(NOW + DAY),
    DAY,
    "1d",
    batch,
  ])

  const worker = yield* Effect.provide(
    SubscriptionsWorker,
    SubscriptionsWorker.Default.pipe(Layer.provide(Layer.succeed(Database, database))),
  )
  yield* TestClock.setTime(NOW)
  const t0 = performance.now()
  const result = yield* worker.tick
  const busy = performance.now() - t0
  yield* TestClock.setTime(NOW + MIN)
  const t1 = performance.now()
  const idle = yield* worker.tick
  const quiet = performance.now() - t1
  console.log(
    `\ntick with 1,000 due: ${busy.toFixed(1)} ms (target < 500 ms) -> ${JSON.stringify(result)}`,
  )
  console.log(`next tick, nothing due: ${quiet.toFixed(1)} ms -> ${JSON.stringify(idle)}`)
}).pipe(
  Effect.scoped,
  Effect.provide(TestContext.TestContext),
  Logger.withMinimumLogLevel(LogLevel.Warning),
)

await Effect.runPromise(program)
