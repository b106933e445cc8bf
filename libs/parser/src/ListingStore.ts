import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { listingPrices, listings } from "@flatwatch/db/schema"
import { and, eq, inArray } from "drizzle-orm"
import { Effect } from "effect"
import type { Listing } from "./Listing.ts"
import { type PriceDrop, queueListingAlerts, queuePriceDropAlerts } from "./Matching.ts"

export interface StoreResult {
  /** Ids of the listings stored for the first time. */
  readonly created: ReadonlyArray<number>
  /** Known listings seen again. */
  readonly seen: number
  /** Known listings whose price changed (history recorded). */
  readonly priceChanges: number
  readonly priceDrops: ReadonlyArray<PriceDrop>
  readonly queuedListing: number
  readonly queuedPriceDrop: number
}

/** Which of `ids` are stored for `source`. */
export const knownIds = (
  source: string,
  ids: ReadonlyArray<string>,
): Effect.Effect<ReadonlySet<string>, DatabaseError, Database> =>
  ids.length === 0
    ? Effect.succeed(new Set<string>())
    : Database.query((db) =>
        db
          .select({ externalId: listings.externalId })
          .from(listings)
          .where(and(eq(listings.source, source), inArray(listings.externalId, [...ids]))),
      ).pipe(Effect.map((rows) => new Set(rows.map((r) => r.externalId))))

const toRow = (listing: Listing, now: Date) => ({
  source: listing.source,
  externalId: listing.externalId,
  market: listing.market,
  url: listing.url,
  title: listing.title,
  description: listing.description,
  price: listing.price,
  priceOriginal: listing.priceOriginal,
  rentPeriod: listing.rentPeriod,
  currency: listing.currency,
  rooms: listing.rooms,
  baths: listing.baths,
  areaM2: listing.areaM2,
  neighbourhood: listing.neighbourhood,
  districtGroups: [...listing.districtGroups],
  address: listing.address,
  furnished: listing.furnished,
  photos: [...listing.photos],
  agentName: listing.agentName,
  agencyName: listing.agencyName,
  agentPhone: listing.agentPhone,
  permitNumber: listing.permitNumber,
  postedAt: listing.postedAt,
  firstSeenAt: now,
  lastSeenAt: now,
  raw:
    listing.postedText === null
      ? listing.raw
      : { postedText: listing.postedText, ...asObject(listing.raw) },
})

const asObject = (raw: unknown): Record<string, unknown> =>
  typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : {}

/**
 * Stores one source's listings and queues the alerts they cause, in the current transaction
 * (the caller opens it, so the cursor moves with the same commit): new listings are inserted
 * with their first price; known ones get `last_seen_at`, and a changed price updates the row and
 * writes `listing_prices`. New listings, and known ones whose price dropped, are matched against
 * filters (`listing` alerts); a drop also queues `price_drop` alerts for users who already got
 * the listing and still match. `now` is business time (Effect Clock).
 */
export const storeListings = (
  batch: ReadonlyArray<Listing>,
  now: Date,
): Effect.Effect<StoreResult, DatabaseError, Database> =>
  Effect.gen(function* () {
    if (batch.length === 0) {
      return {
        created: [],
        seen: 0,
        priceChanges: 0,
        priceDrops: [],
        queuedListing: 0,
        queuedPriceDrop: 0,
      }
    }
    const bySource = new Map<string, Array<Listing>>()
    for (const l of batch) bySource.set(l.source, [...(bySource.get(l.source) ?? []), l])

    const created: Array<number> = []
    const changed: Array<{ id: number; listing: Listing; oldPrice: number }> = []
    const seenIds: Array<number> = []
    for (const [source, group] of bySource) {
      // Lock the known rows: a concurrent run of the same source would be a bug, but must not
      // interleave price updates.
      const existing = yield* Database.query((db) =>
        db
          .select({ id: listings.id, externalId: listings.externalId, price: listings.price })
          .from(listings)
          .where(
            and(
              eq(listings.source, source),
              inArray(
                listings.externalId,
                group.map((l) => l.externalId),
              ),
            ),
          )
          .for("update"),
      )
      const known = new Map(existing.map((row) => [row.externalId, row]))
      const fresh = group.filter((l) => !known.has(l.externalId))
      if (fresh.length > 0) {
        const inserted = yield* Database.query((db) =>
          db
            .insert(listings)
            .values(fresh.map((l) => toRow(l, now)))
            .onConflictDoNothing({ target: [listings.source, listings.externalId] })
            .returning({ id: listings.id, price: listings.price }),
        )
        created.push(...inserted.map((r) => r.id))
        if (inserted.length > 0) {
          yield* Database.query((db) =>
            db
              .insert(listingPrices)
              .values(inserted.map((r) => ({ listingId: r.id, price: r.price, seenAt: now }))),
          )
        }
      }
      for (const l of group) {
        const row = known.get(l.externalId)
        if (row === undefined) continue
        seenIds.push(row.id)
        if (row.price !== l.price) changed.push({ id: row.id, listing: l, oldPrice: row.price })
      }
    }

    if (seenIds.length > 0) {
      yield* Database.query((db) =>
        // Seen again: no longer missing (a listing the price watch missed came back).
        db
          .update(listings)
          .set({ lastSeenAt: now, missingSince: null })
          .where(inArray(listings.id, seenIds)),
      )
    }
    for (const change of changed) {
      yield* Database.query((db) =>
        db
          .update(listings)
          .set({
            price: change.listing.price,
            priceOriginal: change.listing.priceOriginal,
            rentPeriod: change.listing.rentPeriod,
          })
          .where(eq(listings.id, change.id)),
      )
    }
    const priceRows =
      changed.length === 0
        ? []
        : yield* Database.query((db) =>
            db
              .insert(listingPrices)
              .values(
                changed.map((c) => ({ listingId: c.id, price: c.listing.price, seenAt: now })),
              )
              .returning({ id: listingPrices.id, listingId: listingPrices.listingId }),
          )
    const priceIds = new Map(priceRows.map((r) => [r.listingId, r.id]))
    const priceDrops = changed.flatMap((c) => {
      const priceId = priceIds.get(c.id)
      return c.listing.price < c.oldPrice && priceId !== undefined
        ? [{ listingId: c.id, oldPrice: c.oldPrice, newPrice: c.listing.price, priceId }]
        : []
    })

    // A drop can bring a listing into someone's price range: it is new to them.
    const queuedListing = yield* queueListingAlerts(
      [...created, ...priceDrops.map((d) => d.listingId)],
      now,
    )
    const queuedPriceDrop = yield* queuePriceDropAlerts(priceDrops, now)
    return {
      created,
      seen: seenIds.length,
      priceChanges: changed.length,
      priceDrops,
      queuedListing,
      queuedPriceDrop,
    }
  }).pipe(Effect.withSpan("ListingStore.storeListings", { attributes: { listings: batch.length } }))
