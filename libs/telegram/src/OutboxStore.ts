/**
 * The outbox sender's SQL: one statement per step, so a message costs at most one claim share
 * (1/batch) plus one mark. All times come from the caller (the Effect Clock), never `now()`.
 *
 * Ownership of a claimed row is fenced by its `lease_until` value: marks and renewals only touch
 * rows still `sending` with the lease this sender set, so a sender that stalled past its lease
 * cannot overwrite the row another sender has since claimed.
 */
import { Database, type DatabaseError, type Sql } from "@flatwatch/db/Database"
import { Effect, ParseResult, Schema } from "effect"
import type { AlertListing, Language } from "./ListingAlert.ts"
import type { DeliveryKind } from "./Outbox.ts"

/** A claimed row, with what rendering it needs (the listing, the recipient's language). */
export interface ClaimedRow {
  readonly id: number
  readonly userId: number | null
  readonly chatId: number
  readonly kind: DeliveryKind
  readonly filterId: number | null
  readonly payload: unknown
  readonly attempts: number
  readonly language: Language
  /** The user has blocked the bot since the row was queued: cancel, do not send. */
  readonly blocked: boolean
  /** The listing's JSON row (`listing`/`price_drop`), decoded later by `decodeListing`. */
  readonly listing: unknown
  /** The `lease_until` this claim set (epoch ms). */
  readonly lease: number
}

const iso = (ms: number) => new Date(ms).toISOString()
const kindList = (kinds: ReadonlyArray<DeliveryKind>) => kinds.join(",")

const ClaimedDbRow = Schema.Struct({
  id: Schema.Number,
  user_id: Schema.NullOr(Schema.Number),
  chat_id: Schema.Number,
  kind: Schema.Literal(
    "listing",
    "price_drop",
    "reminder",
    "expired",
    "broadcast",
    "admin_notice",
    "notice",
  ),
  filter_id: Schema.NullOr(Schema.Number),
  payload: Schema.Unknown,
  attempts: Schema.Number,
  language: Schema.NullOr(Schema.Literal("ru", "en")),
  blocked: Schema.Boolean,
  listing: Schema.Unknown,
})
const decodeClaimed = Schema.decodeUnknown(Schema.Array(ClaimedDbRow))

export interface ClaimOptions {
  readonly kinds: ReadonlyArray<DeliveryKind>
  readonly now: number
  readonly leaseUntil: number
  readonly limit: number
  /** Rows whose lease expired this many times are failed instead of retried. */
  readonly maxAttempts: number
}

/**
 * Claims up to `limit` due rows of `kinds` (status `sending`, lease `leaseUntil`) in one
 * statement, with `FOR UPDATE SKIP LOCKED` so concurrent senders never take the same row.
 *
 * Order: among the oldest due rows (a window of 20 batches), each chat's first row comes before
 * any chat's second row, then by due time. A burst to one chat therefore cannot fill a batch
 * and hold every other chat behind the 1 msg/s per-chat limit; each chat's rows stay in order.
 *
 * The same statement returns to `pending` every row of these kinds whose lease expired (its
 * sender died), counting that as an attempt; it is claimed by the next call.
 */
export const claim = (
  options: ClaimOptions,
): Effect.Effect<ReadonlyArray<ClaimedRow>, DatabaseError, Database> =>
  Database.sql(
    (sql) => sql`
      WITH reclaimed AS (
        UPDATE deliveries
           SET status = CASE WHEN attempts + 1 >= ${options.maxAttempts}
                             THEN 'failed'::delivery_status ELSE 'pending'::delivery_status END,
               attempts = attempts + 1,
               lease_until = NULL,
               last_error = 'its sender stopped before finishing (lease expired)'
         WHERE status = 'sending'
           AND lease_until < ${iso(options.now)}::timestamptz
           AND kind = ANY (string_to_array(${kindList(options.kinds)}, ',')::delivery_kind[])
      ), due AS (
        SELECT id, chat_id, next_attempt_at
          FROM deliveries
         WHERE status = 'pending'
           AND kind = ANY (string_to_array(${kindList(options.kinds)}, ',')::delivery_kind[])
           AND next_attempt_at <= ${iso(options.now)}::timestamptz
         ORDER BY next_attempt_at, id
         LIMIT ${options.limit * 20}
      ), ranked AS (
        SELECT id, row_number() OVER (PARTITION BY chat_id ORDER BY next_attempt_at, id) AS rn,
               next_attempt_at
          FROM due
      ), candidates AS (
        -- An ordered id array makes every later step a primary-key lookup, whatever the
        -- planner believes about table sizes (fresh tables have no statistics).
        SELECT ARRAY(SELECT id FROM ranked ORDER BY rn, next_attempt_at, id
                      LIMIT ${options.limit * 2}) AS ids
      ), picked AS (
        SELECT d.id
          FROM deliveries d, candidates c
         WHERE d.id = ANY (c.ids)
           AND d.status = 'pending' AND d.next_attempt_at <= ${iso(options.now)}::timestamptz
         ORDER BY array_position(c.ids, d.id)
         LIMIT ${options.limit}
           FOR UPDATE OF d SKIP LOCKED
      ), claimed AS (
        UPDATE deliveries d
           SET status = 'sending', lease_until = ${iso(options.leaseUntil)}::timestamptz
         WHERE d.id = ANY (ARRAY(SELECT id FROM picked))
        RETURNING d.id, d.user_id, d.chat_id, d.kind, d.listing_id, d.filter_id, d.payload,
                  d.attempts
      )
      SELECT c.id::float8 AS id, c.user_id::float8 AS user_id, c.chat_id::float8 AS chat_id,
             c.kind::text AS kind, c.filter_id, c.payload, c.attempts,
             (SELECT u.language::text FROM users u WHERE u.id = c.user_id) AS language,
             coalesce((SELECT u.blocked_at IS NOT NULL FROM users u WHERE u.id = c.user_id),
                      false) AS blocked,
             (SELECT to_jsonb(l) - 'raw' FROM listings l WHERE l.id = c.listing_id) AS listing
        FROM claimed c, candidates
       ORDER BY array_position(candidates.ids, c.id)`,
  ).pipe(
    Effect.flatMap((rows) => Effect.orDie(decodeClaimed(rows))),
    Effect.map((rows) =>
      rows.map(
        (r): ClaimedRow => ({
          id: r.id,
          userId: r.user_id,
          chatId: r.chat_id,
          kind: r.kind,
          filterId: r.filter_id,
          payload: r.payload,
          attempts: r.attempts,
          language: r.language ?? "en",
          blocked: r.blocked,
          listing: r.listing,
          lease: options.leaseUntil,
        }),
      ),
    ),
    Effect.withSpan("OutboxStore.claim"),
  )

/** The final (or next) state of a claimed row. */
export interface Mark {
  readonly id: number
  /** The lease the sender holds the row with (fencing). */
  readonly lease: number
  readonly status: "sent" | "failed" | "pending" | "cancelled"
  readonly attempts: number
  readonly messageId?: number
  readonly sentAt?: number
  readonly error?: string
  /** For `pending`: when to try again (unchanged when absent). */
  readonly nextAt?: number
}

export interface Completion {
  readonly marks: ReadonlyArray<Mark>
  /** Users who blocked the bot: `users.blocked_at` is set and their pending rows cancelled. */
  readonly blockedUsers: ReadonlyArray<number>
  /** A retried row keeps its place: the user's later pending rows wait until `until`. */
  readonly deferrals: ReadonlyArray<{ readonly userId: number; readonly until: number }>
  readonly kinds: ReadonlyArray<DeliveryKind>
  readonly now: number
}

export interface CompletionResult {
  /** Marks applied; a mark whose lease was lost (another sender has the row) is skipped. */
  readonly marked: number
  readonly blocked: number
  readonly cancelled: number
}

const CompletionRow = Schema.Struct({
  marked: Schema.Number,
  blocked: Schema.Number,
  cancelled: Schema.Number,
})

/**
 * The `v` (marks) and `marked` CTEs: applies each mark to its row if the row is still `sending`
 * with the lease this sender holds.
 */
const markCtes = (sql: Sql, marks: string) => sql`
  v AS (
    SELECT * FROM jsonb_to_recordset(${marks}::jsonb) AS v(
      id bigint, lease timestamptz, status delivery_status, attempts integer,
      message_id bigint, sent_at timestamptz, error text, next_at timestamptz)
  ), marked AS (
    UPDATE deliveries d
       SET status = v.status,
           attempts = v.attempts,
           telegram_message_id = coalesce(v.message_id, d.telegram_message_id),
           sent_at = coalesce(v.sent_at, d.sent_at),
           last_error = coalesce(v.error, d.last_error),
           next_attempt_at = coalesce(v.next_at, d.next_attempt_at),
           lease_until = NULL
      FROM v
     WHERE d.id = ANY (ARRAY(SELECT id FROM v)) AND d.id = v.id
       AND d.status = 'sending' AND d.lease_until = v.lease
    RETURNING d.id
  )`

/** Writes a batch of results (and their side effects) in one statement. */
export const complete = (
  completion: Completion,
): Effect.Effect<CompletionResult, DatabaseError, Database> => {
  const marks = JSON.stringify(
    completion.marks.map((m) => ({
      id: m.id,
      lease: iso(m.lease),
      status: m.status,
      attempts: m.attempts,
      message_id: m.messageId ?? null,
      sent_at: m.sentAt === undefined ? null : iso(m.sentAt),
      error: m.error ?? null,
      next_at: m.nextAt === undefined ? null : iso(m.nextAt),
    })),
  )
  if (completion.blockedUsers.length === 0 && completion.deferrals.length === 0) {
    // The common case (every send answered ok or failed for good): one plain UPDATE.
    return Database.sql(
      (sql) => sql`
        WITH ${markCtes(sql, marks)}
        SELECT (SELECT count(*) FROM marked)::int AS marked, 0 AS blocked, 0 AS cancelled`,
    ).pipe(
      Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(CompletionRow)(rows[0]))),
      Effect.withSpan("OutboxStore.complete", { attributes: { marks: completion.marks.length } }),
    )
  }
  const blocked = JSON.stringify(completion.blockedUsers)
  const deferrals = JSON.stringify(
    completion.deferrals.map((d) => ({ user_id: d.userId, until: iso(d.until) })),
  )
  return Database.sql(
    (sql) => sql`
      WITH ${markCtes(sql, marks)}, blocked_ids AS (
        SELECT jsonb_array_elements_text(${blocked}::jsonb)::bigint AS id
      ), blocked AS (
        UPDATE users SET blocked_at = ${iso(completion.now)}::timestamptz,
                         updated_at = ${iso(completion.now)}::timestamptz
         WHERE id = ANY (ARRAY(SELECT id FROM blocked_ids)) AND blocked_at IS NULL
        RETURNING id
      ), cancelled AS (
        UPDATE deliveries
           SET status = 'cancelled', last_error = 'the user blocked the bot'
         WHERE user_id = ANY (ARRAY(SELECT id FROM blocked_ids)) AND status = 'pending'
        RETURNING id
      ), x AS (
        SELECT * FROM jsonb_to_recordset(${deferrals}::jsonb) AS x(user_id bigint, until timestamptz)
      ), deferred AS (
        UPDATE deliveries d
           SET next_attempt_at = x.until
          FROM x
         WHERE d.user_id = ANY (ARRAY(SELECT user_id FROM x)) AND d.user_id = x.user_id
           AND d.status = 'pending' AND d.next_attempt_at < x.until
           AND d.kind = ANY (string_to_array(${kindList(completion.kinds)}, ',')::delivery_kind[])
        RETURNING d.id
      )
      SELECT (SELECT count(*) FROM marked)::int AS marked,
             (SELECT count(*) FROM blocked)::int AS blocked,
             (SELECT count(*) FROM cancelled)::int AS cancelled`,
  ).pipe(
    Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(CompletionRow)(rows[0]))),
    Effect.withSpan("OutboxStore.complete", { attributes: { marks: completion.marks.length } }),
  )
}

/**
 * Extends the lease of rows this sender still holds; returns the ids renewed (a row missing
 * from the answer was lost: its lease expired and another sender may have it).
 */
export const renew = (
  held: ReadonlyArray<{ readonly id: number; readonly lease: number }>,
  leaseUntil: number,
): Effect.Effect<ReadonlySet<number>, DatabaseError, Database> => {
  const json = JSON.stringify(held.map((h) => ({ id: h.id, lease: iso(h.lease) })))
  return Database.sql(
    (sql) => sql<{ id: number }[]>`
      WITH v AS (
        SELECT * FROM jsonb_to_recordset(${json}::jsonb) AS v(id bigint, lease timestamptz)
      )
      UPDATE deliveries d SET lease_until = ${iso(leaseUntil)}::timestamptz
        FROM v
       WHERE d.id = ANY (ARRAY(SELECT id FROM v)) AND d.id = v.id
         AND d.status = 'sending' AND d.lease_until = v.lease
      RETURNING d.id::float8 AS id`,
  ).pipe(
    Effect.map((rows) => new Set(rows.map((r) => Number(r.id)))),
    Effect.withSpan("OutboxStore.renew", { attributes: { rows: held.length } }),
  )
}

export interface OutboxStats {
  /** Rows due now and not yet sent (`pending` due, plus `sending`). */
  readonly depth: number
  /** How long the longest-waiting due row has been due, in seconds (0 when none). */
  readonly oldestSeconds: number
}

const StatsRow = Schema.Struct({
  depth: Schema.Number,
  oldest_seconds: Schema.NullOr(Schema.Number),
})

/** Outbox depth and oldest due row of `kinds`, for the operator's gauges. */
export const stats = (
  kinds: ReadonlyArray<DeliveryKind>,
  now: number,
): Effect.Effect<OutboxStats, DatabaseError, Database> =>
  Database.sql(
    (sql) => sql`
      SELECT count(*)::int AS depth,
             extract(epoch FROM ${iso(now)}::timestamptz
               - min(next_attempt_at) FILTER (WHERE status = 'pending'))::float8 AS oldest_seconds
        FROM deliveries
       WHERE kind = ANY (string_to_array(${kindList(kinds)}, ',')::delivery_kind[])
         AND ((status = 'pending' AND next_attempt_at <= ${iso(now)}::timestamptz)
              OR status = 'sending')`,
  ).pipe(
    Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(StatsRow)(rows[0]))),
    Effect.map((r) => ({ depth: r.depth, oldestSeconds: Math.max(0, r.oldest_seconds ?? 0) })),
  )

/** The listing JSON of a claimed row (`to_jsonb(listings)`), as the renderer takes it. */
const ListingJson = Schema.Struct({
  market: Schema.String,
  url: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  price: Schema.Number,
  price_original: Schema.Number,
  rent_period: Schema.Literal("monthly", "yearly", "weekly", "daily"),
  currency: Schema.String,
  rooms: Schema.NullOr(Schema.Number),
  baths: Schema.NullOr(Schema.Number),
  area_m2: Schema.NullOr(Schema.Number),
  neighbourhood: Schema.NullOr(Schema.String),
  district_groups: Schema.Array(Schema.String),
  address: Schema.NullOr(Schema.String),
  furnished: Schema.NullOr(Schema.Boolean),
  photos: Schema.Array(Schema.String),
  agent_name: Schema.NullOr(Schema.String),
  agency_name: Schema.NullOr(Schema.String),
  agent_phone: Schema.NullOr(Schema.String),
  permit_number: Schema.NullOr(Schema.String),
  posted_at: Schema.NullOr(Schema.DateFromString),
})

/** Decodes a claimed row's listing; fails with a readable reason when it is missing or odd. */
export const decodeListing = (json: unknown): Effect.Effect<AlertListing, string> =>
  json === null
    ? Effect.fail("the listing no longer exists")
    : Schema.decodeUnknown(ListingJson)(json).pipe(
        Effect.mapError(
          (e) => `the listing row is invalid: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
        ),
        Effect.map((l) => ({
          market: l.market,
          url: l.url,
          title: l.title,
          description: l.description,
          price: l.price,
          priceOriginal: l.price_original,
          rentPeriod: l.rent_period,
          currency: l.currency,
          rooms: l.rooms,
          baths: l.baths,
          areaM2: l.area_m2,
          neighbourhood: l.neighbourhood,
          districtGroups: l.district_groups,
          address: l.address,
          furnished: l.furnished,
          photos: l.photos,
          agentName: l.agent_name,
          agencyName: l.agency_name,
          agentPhone: l.agent_phone,
          permitNumber: l.permit_number,
          postedAt: l.posted_at,
        })),
      )
