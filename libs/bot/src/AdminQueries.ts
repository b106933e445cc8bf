import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import { enqueue } from "@flatwatch/telegram/Outbox"
import { asc, isNull } from "drizzle-orm"
import { Chunk, Clock, Effect } from "effect"

export interface Stats {
  readonly users: number
  readonly blocked: number
  /** Users with a paid (or granted) period covering now. */
  readonly subscribers: number
  /** Users whose current period is the free trial. */
  readonly trials: number
  readonly activeFilters: number
  /** Listings first stored since 00:00 UTC. */
  readonly listingsToday: number
  /** Listing and price-drop alerts sent in the last 24 hours. */
  readonly sent24h: number
  readonly failed24h: number
  /** Outbox rows waiting or being sent. */
  readonly outbox: number
}

export interface SourceStatus {
  readonly source: string
  readonly status: string
  readonly lastRunAt: Date | null
  readonly lastSuccessAt: Date | null
  readonly lastError: string | null
  readonly lastOutcome: string | null
  /** Set while a `fetch: auto` source reads through the browser: since when. */
  readonly browserSince: Date | null
  /** How the last run read the source when not its usual way (a fallback), else null. */
  readonly via: string | null
}

const DAY_MS = 24 * 60 * 60 * 1000
const toDate = (v: string | Date | null): Date | null => (v === null ? null : new Date(v))

/** The data behind the admin commands (/stats, /sources, /broadcast). */
export class AdminQueries extends Effect.Service<AdminQueries>()("@flatwatch/bot/AdminQueries", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)

    const stats = Effect.fn("AdminQueries.stats")(function* () {
      const now = yield* Clock.currentTimeMillis
      const at = new Date(now).toISOString()
      const dayAgo = new Date(now - DAY_MS).toISOString()
      const midnight = new Date(now - (now % DAY_MS)).toISOString()
      const [row] = yield* Database.sql(
        (sql) => sql<Array<Record<keyof Stats, number>>>`
          select
            (select count(*) from users)::int as users,
            (select count(*) from users where blocked_at is not null)::int as blocked,
            (select count(distinct user_id) from subscriptions
              where status = 'active' and plan <> 'trial'
                and starts_at <= ${at}::timestamptz and ends_at > ${at}::timestamptz)::int as subscribers,
            (select count(distinct user_id) from subscriptions s
              where status = 'active' and plan = 'trial'
                and starts_at <= ${at}::timestamptz and ends_at > ${at}::timestamptz
                and not exists (select 1 from subscriptions p
                  where p.user_id = s.user_id and p.status = 'active' and p.plan <> 'trial'
                    and p.starts_at <= ${at}::timestamptz and p.ends_at > ${at}::timestamptz))::int as trials,
            (select count(*) from filters where active)::int as "activeFilters",
            (select count(*) from listings where first_seen_at >= ${midnight}::timestamptz)::int as "listingsToday",
            (select count(*) from deliveries where status = 'sent'
              and kind in ('listing', 'price_drop') and sent_at >= ${dayAgo}::timestamptz)::int as "sent24h",
            (select count(*) from deliveries where status = 'failed'
              and kind in ('listing', 'price_drop') and created_at >= ${dayAgo}::timestamptz)::int as "failed24h",
            (select count(*) from deliveries where status in ('pending', 'sending'))::int as outbox
        `,
      )
      if (row === undefined) return yield* Effect.dieMessage("stats returned no row")
      return row as Stats
    }, withDb)

    const sources = Effect.fn("AdminQueries.sources")(function* () {
      const rows = yield* Database.sql(
        (sql) => sql<
          Array<{
            source: string
            status: string
            last_run_at: string | null
            last_success_at: string | null
            last_error: string | null
            via: string | null
            outcome: string | null
            browser_since: string | null
          }>
        >`
          select s.source, s.status::text as status, s.last_run_at, s.last_success_at, s.last_error,
                 s.via, r.outcome::text as outcome,
                 case when b.fetch_via = 'browser' then b.fetch_via_since end as browser_since
          from source_state s
          left join browser_sessions b on b.source = s.source
          left join lateral (
            -- The crawl's last outcome: price-watch runs do not speak for the source's health.
            select outcome from source_runs where source = s.source and kind = 'crawl'
            order by started_at desc limit 1
          ) r on true
          order by s.source
        `,
      )
      return rows.map(
        (r): SourceStatus => ({
          source: r.source,
          status: r.status,
          lastRunAt: toDate(r.last_run_at),
          lastSuccessAt: toDate(r.last_success_at),
          lastError: r.last_error,
          lastOutcome: r.outcome,
          browserSince: toDate(r.browser_since),
          via: r.via,
        }),
      )
    }, withDb)

    /** Users a broadcast goes to: everyone who has not blocked the bot. */
    const broadcastRecipients = Effect.fn("AdminQueries.broadcastRecipients")(function* () {
      return yield* Database.query((db) => db.$count(users, isNull(users.blockedAt)))
    }, withDb)

    /**
     * Queues one `broadcast` delivery per user who has not blocked the bot, in one transaction;
     * idempotent per broadcast id (`broadcast:<id>:<userId>`). Returns how many were new.
     */
    const enqueueBroadcast = Effect.fn("AdminQueries.enqueueBroadcast")(function* (
      broadcastId: string,
      html: string,
    ) {
      return yield* Database.transaction(
        Effect.gen(function* () {
          const recipients = yield* Database.query((db) =>
            db
              .select({ id: users.id, chatId: users.chatId })
              .from(users)
              .where(isNull(users.blockedAt))
              .orderBy(asc(users.id)),
          )
          let queued = 0
          for (const chunk of Chunk.chunksOf(Chunk.fromIterable(recipients), 1000)) {
            queued += yield* enqueue(
              Chunk.toReadonlyArray(chunk).map((u) => ({
                userId: u.id,
                chatId: u.chatId,
                kind: "broadcast" as const,
                dedupeKey: `broadcast:${broadcastId}:${u.id}`,
                payload: { text: html },
              })),
            )
          }
          return queued
        }),
      )
    }, withDb)

    return { stats, sources, broadcastRecipients, enqueueBroadcast } as const
  }),
}) {}
