/**
 * Test and benchmark data for the outbox: users, listings and queued alerts, written with the
 * real schema and `Outbox.enqueue`. Not used by production code.
 */
import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { deliveries, listings, users } from "@flatwatch/db/schema"
import { sql } from "drizzle-orm"
import { Effect } from "effect"
import { enqueue, type NewDelivery } from "./Outbox.ts"

/** Inserts users `first .. first+count-1` (chat id = user id). */
export const seedUsers = (
  first: number,
  count: number,
  language: "ru" | "en" = "en",
): Effect.Effect<ReadonlyArray<number>, DatabaseError, Database> => {
  const ids = Array.from({ length: count }, (_, i) => first + i)
  return Database.query((db) =>
    db
      .insert(users)
      .values(ids.map((id) => ({ id, chatId: id, language, firstName: `User ${id}` })))
      .onConflictDoNothing(),
  ).pipe(Effect.as(ids))
}

export interface ListingSeed {
  readonly title?: string
  readonly photos?: ReadonlyArray<string>
  readonly price?: number
}

/** Inserts listings (titles `Flat <n>` unless given) and returns their ids in order. */
export const seedListings = (
  seeds: ReadonlyArray<ListingSeed>,
  prefix = "L",
): Effect.Effect<ReadonlyArray<number>, DatabaseError, Database> =>
  Database.query((db) =>
    db
      .insert(listings)
      .values(
        seeds.map((s, i) => ({
          source: "test",
          externalId: `${prefix}${i}`,
          market: "dubai",
          url: `https://listings.test/${prefix}${i}`,
          title: s.title ?? `Flat ${prefix}${i}`,
          price: s.price ?? 10_000 + i,
          priceOriginal: s.price ?? 10_000 + i,
          currency: "AED",
          rooms: 1,
          photos: [...(s.photos ?? [])],
        })),
      )
      .returning({ id: listings.id }),
  ).pipe(Effect.map((rows) => rows.map((r) => r.id)))

/**
 * Queues one `listing` alert per (listing, user), listing by listing (as the matcher does when
 * listings arrive), so each user's alerts are in listing order.
 */
export const queueAlerts = (
  listingIds: ReadonlyArray<number>,
  userIds: ReadonlyArray<number>,
): Effect.Effect<number, DatabaseError, Database> => {
  const rows: ReadonlyArray<NewDelivery> = listingIds.flatMap((listingId) =>
    userIds.map((userId) => ({
      userId,
      chatId: userId,
      kind: "listing" as const,
      listingId,
      dedupeKey: `listing:${userId}:${listingId}`,
    })),
  )
  return enqueue(rows)
}

/** Row counts of the outbox by status. */
export const statusCounts = Database.query((db) =>
  db
    .select({ status: deliveries.status, n: sql<number>`count(*)::int` })
    .from(deliveries)
    .groupBy(deliveries.status),
).pipe(
  Effect.map((rows) => {
    const counts = { pending: 0, sending: 0, sent: 0, failed: 0, cancelled: 0 }
    for (const r of rows) counts[r.status] = r.n
    return counts
  }),
)
