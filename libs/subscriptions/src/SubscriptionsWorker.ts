import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { timeZone } from "@flatwatch/telegram/DisplayTime"
import { enqueue, type NewDelivery } from "@flatwatch/telegram/Outbox"
import { Clock, Config, ConfigError, Duration, Effect, Either, Metric } from "effect"
import { expiredPayload, type Language, reminderPayload } from "./NoticeTexts.ts"
import { Plans } from "./Plans.ts"
import type { SubscriptionPlan } from "./Subscriptions.ts"

/** A reminder offset: how long before the end, and its name in dedupe keys (`3d`, `12h`, `30m`). */
export interface ReminderOffset {
  readonly duration: Duration.Duration
  readonly key: string
}

const UNIT_MINUTES: Record<string, number> = { m: 1, h: 60, d: 1440 }

/** Parses `3 days,1 day` (also `72 hours`, `3d`, `12h`, `30m`) into offsets, longest first. */
export const parseReminderOffsets = (
  text: string,
): Either.Either<ReadonlyArray<ReminderOffset>, string> => {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const minutes: number[] = []
  for (const item of items) {
    const match = /^(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)$/i.exec(item)
    const n = Number(match?.[1])
    const unit = match?.[2]?.[0]?.toLowerCase() ?? ""
    const perUnit = UNIT_MINUTES[unit]
    if (match === null || perUnit === undefined || !(n > 0)) {
      return Either.left(`"${item}" is not a positive number of minutes, hours or days`)
    }
    minutes.push(n * perUnit)
  }
  const distinct = [...new Set(minutes)].sort((a, b) => b - a)
  return Either.right(
    distinct.map((m) => ({
      duration: Duration.minutes(m),
      key: m % 1440 === 0 ? `${m / 1440}d` : m % 60 === 0 ? `${m / 60}h` : `${m}m`,
    })),
  )
}

/**
 * `REMINDER_OFFSETS` (default `3 days,1 day`; empty = no reminders), `TIME_ZONE` (IANA zone
 * the dates in notices are shown in, default `UTC`; the bot reads it too, see `DisplayTime`),
 * `SUBSCRIPTIONS_BATCH_SIZE` (rows per statement, default 1000).
 */
export const SubscriptionsWorkerConfig = Config.all({
  reminderOffsets: Config.string("REMINDER_OFFSETS").pipe(
    Config.withDefault("3 days,1 day"),
    Config.mapOrFail((text) =>
      Either.mapLeft(parseReminderOffsets(text), (message) =>
        ConfigError.InvalidData(["REMINDER_OFFSETS"], message),
      ),
    ),
  ),
  timeZone,
  batchSize: Config.integer("SUBSCRIPTIONS_BATCH_SIZE").pipe(
    Config.validate({
      message: "must be between 1 and 5000",
      validation: (n) => n >= 1 && n <= 5000,
    }),
    Config.withDefault(1000),
  ),
})

/**
 * Marks ended periods `expired` (a batch, oldest end first, skipping rows another worker holds)
 * and says for each whether it was the user's last one: only then did access end, and an
 * expiry notice is due. "Last" counts every period that is not refunded, so a period followed
 * by an extension never gets a notice, whichever worker or batch expires which.
 * $1 now, $2 batch size.
 */
export const EXPIRE_SQL = `
WITH due AS (
  SELECT id FROM subscriptions
  WHERE status = 'active' AND ends_at <= $1::timestamptz
  ORDER BY ends_at
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED
), expired AS (
  UPDATE subscriptions s SET status = 'expired'
  WHERE s.id = ANY (ARRAY(SELECT id FROM due))
  RETURNING s.id, s.user_id, s.plan, s.ends_at
)
SELECT e.id, e.user_id, e.plan, e.ends_at, u.chat_id, u.language,
  (u.blocked_at IS NULL AND e.ends_at >= (
    SELECT max(o.ends_at) FROM subscriptions o
    WHERE o.user_id = e.user_id AND o.status <> 'refunded'
  )) AS notify
FROM expired e
CROSS JOIN LATERAL (
  -- OFFSET 0 keeps this a per-row primary-key lookup rather than a hash of all users.
  SELECT chat_id, language, blocked_at FROM users WHERE id = e.user_id OFFSET 0
) u`

/**
 * Periods due a reminder at one offset: the user's last period (nothing not refunded ends
 * later), ending within the offset's window (`$1 < ends_at <= $2`: the reminder moment has
 * come and the next, shorter offset's has not), whose end was known before the reminder moment
 * (a 1-day trial gets no "ends in 1 day" the moment it starts), not reminded yet, of a user who
 * has not blocked the bot. The rows are locked (SKIP LOCKED) until the reminders are queued,
 * which is what an extension waits for. $3 offset in ms, $4 offset key, $5 batch size.
 */
export const REMINDER_SQL = `
SELECT s.id, s.user_id, s.plan, s.ends_at, u.chat_id, u.language
FROM subscriptions s JOIN users u ON u.id = s.user_id
WHERE s.status = 'active'
  AND s.ends_at > $1::timestamptz AND s.ends_at <= $2::timestamptz
  AND s.created_at < s.ends_at - $3::double precision * interval '1 millisecond'
  AND u.blocked_at IS NULL
  AND s.ends_at >= (
    SELECT max(o.ends_at) FROM subscriptions o
    WHERE o.user_id = s.user_id AND o.status <> 'refunded'
  )
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.dedupe_key = 'reminder:' || s.id || ':' || $4::text
  )
ORDER BY s.ends_at
LIMIT $5::int
FOR UPDATE OF s SKIP LOCKED`

/** Raw rows: postgres.js returns bigint and timestamptz as strings here. */
interface PeriodRow {
  readonly id: number
  readonly user_id: string
  readonly plan: SubscriptionPlan
  readonly ends_at: string
  readonly chat_id: string
  readonly language: Language
}

interface ExpiredRow extends PeriodRow {
  /** The user's access ended with this period: an expiry notice is due. */
  readonly notify: boolean
}

export interface TickResult {
  /** Periods marked expired (including ones followed by an extension). */
  readonly expired: number
  /** Expiry notices queued (users whose access ended). */
  readonly expiryNotices: number
  /** Reminders queued, all offsets. */
  readonly reminders: number
}

const remindersQueued = Metric.counter("subscriptions_reminders_queued_total", {
  description: "reminders before the end queued in the outbox",
  incremental: true,
})
const expiredTotal = Metric.counter("subscriptions_expired_total", {
  description: "subscription periods marked expired",
  incremental: true,
})
const expiryNoticesQueued = Metric.counter("subscriptions_expiry_notices_queued_total", {
  description: "expiry notices queued in the outbox",
  incremental: true,
})
const ticksTotal = Metric.counter("subscriptions_ticks_total", {
  description: "worker ticks completed",
  incremental: true,
})

/** A safety stop: a tick handles at most this many batches per step, the rest next minute. */
const MAX_BATCHES = 200

/**
 * The subscriptions worker's job, one tick at a time: expire ended periods and queue expiry
 * notices, then queue the reminders that are due, all through the outbox with dedupe keys
 * `expired:<subscriptionId>` and `reminder:<subscriptionId>:<offset>`. A subscription id names
 * one end: an extension is a new period (a new id), so notices for the old end stop by
 * themselves. Set-based SQL, batched, with row locks taken SKIP LOCKED: several workers may
 * tick at the same moment and each notice is still queued once.
 */
export class SubscriptionsWorker extends Effect.Service<SubscriptionsWorker>()(
  "@flatwatch/subscriptions/SubscriptionsWorker",
  {
    effect: Effect.gen(function* () {
      const database = yield* Database
      const plans = yield* Plans
      const config = yield* SubscriptionsWorkerConfig

      const rows = <Row>(text: string, params: ReadonlyArray<string | number>) =>
        Database.sql((sql) => sql.unsafe<Row[]>(text, [...params]))

      /** Runs `step` (one batch, one transaction) until a batch comes back short. */
      const drain = <E>(step: Effect.Effect<number, E, Database>) =>
        Effect.gen(function* () {
          let handled = 0
          for (let i = 0; i < MAX_BATCHES; i++) {
            const n = yield* step
            handled += n
            if (n < config.batchSize) break
          }
          return handled
        })

      const expireBatch = (now: Date, notices: { count: number }) =>
        Database.transaction(
          Effect.gen(function* () {
            const expired = yield* rows<ExpiredRow>(EXPIRE_SQL, [
              now.toISOString(),
              config.batchSize,
            ])
            const queued = yield* enqueue(
              expired
                .filter((r) => r.notify)
                .map(
                  (r): NewDelivery => ({
                    userId: Number(r.user_id),
                    chatId: Number(r.chat_id),
                    kind: "expired",
                    dedupeKey: `expired:${r.id}`,
                    payload: expiredPayload(r.language, { plan: r.plan }, plans.all),
                  }),
                ),
            )
            notices.count += queued
            yield* Metric.incrementBy(expiredTotal, expired.length)
            yield* Metric.incrementBy(expiryNoticesQueued, queued)
            return expired.length
          }),
        )

      const reminderBatch = (
        now: Date,
        offset: ReminderOffset,
        shorter: Duration.Duration,
        queuedSoFar: { count: number },
      ) =>
        Database.transaction(
          Effect.gen(function* () {
            const due = yield* rows<PeriodRow>(REMINDER_SQL, [
              new Date(now.getTime() + Duration.toMillis(shorter)).toISOString(),
              new Date(now.getTime() + Duration.toMillis(offset.duration)).toISOString(),
              Duration.toMillis(offset.duration),
              offset.key,
              config.batchSize,
            ])
            const queued = yield* enqueue(
              due.map(
                (r): NewDelivery => ({
                  userId: Number(r.user_id),
                  chatId: Number(r.chat_id),
                  kind: "reminder",
                  dedupeKey: `reminder:${r.id}:${offset.key}`,
                  payload: reminderPayload(
                    r.language,
                    {
                      plan: r.plan,
                      endsAt: new Date(r.ends_at),
                      left: Duration.millis(new Date(r.ends_at).getTime() - now.getTime()),
                      timeZone: config.timeZone,
                    },
                    plans.all,
                  ),
                }),
              ),
            )
            queuedSoFar.count += queued
            yield* Metric.incrementBy(
              remindersQueued.pipe(Metric.tagged("offset", offset.key)),
              queued,
            )
            return due.length
          }),
        )

      /** One pass: expiry first (an ended period needs no reminder), then each offset. */
      const tick: Effect.Effect<TickResult, DatabaseError> = Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        const notices = { count: 0 }
        const expired = yield* drain(expireBatch(now, notices))
        const reminders = { count: 0 }
        const offsets = config.reminderOffsets
        for (const [i, offset] of offsets.entries()) {
          const shorter = offsets[i + 1]?.duration ?? Duration.zero
          yield* drain(reminderBatch(now, offset, shorter, reminders))
        }
        yield* Metric.increment(ticksTotal)
        const result: TickResult = {
          expired,
          expiryNotices: notices.count,
          reminders: reminders.count,
        }
        if (expired + reminders.count > 0) {
          yield* Effect.logInfo("subscriptions tick").pipe(Effect.annotateLogs({ ...result }))
        }
        return result
      }).pipe(
        Effect.provideService(Database, database),
        Effect.withSpan("SubscriptionsWorker.tick"),
      )

      return { tick, config } as const
    }),
    dependencies: [Plans.Default],
  },
) {}
