import { Database, type DatabaseError } from "@flatwatch/db/Database"
import type { deliveries } from "@flatwatch/db/schema"
import { Clock, Effect, Schema } from "effect"

export type DeliveryKind = (typeof deliveries.kind.enumValues)[number]

/** An inline button of a queued message: a link or a callback. */
export const OutboxButton = Schema.Union(
  Schema.Struct({ text: Schema.String, url: Schema.String }),
  Schema.Struct({ text: Schema.String, callback_data: Schema.String }),
)
export type OutboxButton = typeof OutboxButton.Type

/**
 * The payload of every kind that is not rendered from a listing (`reminder`, `expired`,
 * `broadcast`, `admin_notice`, `notice`): the message as it will be sent, already in the
 * recipient's language. `text` is Telegram HTML: scraped or user-supplied parts must be escaped.
 */
export const TextPayload = Schema.Struct({
  text: Schema.String,
  buttons: Schema.optional(Schema.Array(Schema.Array(OutboxButton))),
})
export type TextPayload = typeof TextPayload.Type

/** The payload of a `price_drop` delivery. */
export const PriceDropPayload = Schema.Struct({
  oldPrice: Schema.Number,
  newPrice: Schema.Number,
})
export type PriceDropPayload = typeof PriceDropPayload.Type

export interface NewDelivery {
  /** null only for a notice to an admin who never started the bot. */
  readonly userId: number | null
  readonly chatId: number
  readonly kind: DeliveryKind
  /** Queuing twice with the same key queues once. */
  readonly dedupeKey: string
  readonly listingId?: number
  readonly filterId?: number
  readonly payload?: TextPayload | PriceDropPayload
  /** Not sent before this time (default: now). */
  readonly notBefore?: Date
}

/**
 * Queues messages in the outbox (`deliveries`). Idempotent on `dedupeKey`; joins the current
 * transaction, so a message is queued exactly when the change that causes it commits.
 * Returns how many rows were new. All rows go in one statement with one parameter (a JSON
 * array), however many there are.
 */
export const enqueue = (
  rows: ReadonlyArray<NewDelivery>,
): Effect.Effect<number, DatabaseError, Database> =>
  rows.length === 0
    ? Effect.succeed(0)
    : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const records = rows.map((r) => ({
          user_id: r.userId,
          chat_id: r.chatId,
          kind: r.kind,
          dedupe_key: r.dedupeKey,
          listing_id: r.listingId ?? null,
          filter_id: r.filterId ?? null,
          payload: r.payload ?? null,
          // Business time comes from the Effect Clock (tests move it), not the server's now().
          next_attempt_at: (r.notBefore ?? new Date(now)).toISOString(),
        }))
        return Database.sql(
          (sql) => sql<{ id: string }[]>`
            insert into deliveries
              (user_id, chat_id, kind, dedupe_key, listing_id, filter_id, payload, next_attempt_at)
            select user_id, chat_id, kind, dedupe_key, listing_id, filter_id, payload, next_attempt_at
            from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as r(
              user_id bigint, chat_id bigint, kind delivery_kind, dedupe_key text,
              listing_id bigint, filter_id integer, payload jsonb, next_attempt_at timestamptz)
            on conflict (dedupe_key) do nothing
            returning id`,
        )
      }).pipe(
        Effect.map((inserted) => inserted.length),
        Effect.withSpan("Outbox.enqueue", { attributes: { rows: rows.length } }),
      )
