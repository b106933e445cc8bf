import { Database } from "@flatwatch/db/Database"
import { filters, listings, users } from "@flatwatch/db/schema"
import { and, asc, count, eq, gte } from "drizzle-orm"
import { Clock, Data, Duration, Effect } from "effect"
import { listingMatchesFilter } from "./FilterMatch.ts"
import type { FilterDraft } from "./Session.ts"

export type FilterRow = typeof filters.$inferSelect

/** What a user chose in the editor, as stored in a `filters` row. */
export interface FilterValues {
  readonly name: string
  readonly market: string
  readonly districtGroups: ReadonlyArray<string>
  readonly priceMin: number | null
  readonly priceMax: number | null
  readonly rooms: ReadonlyArray<number>
  readonly rentPeriods: ReadonlyArray<FilterRow["rentPeriods"][number]>
  readonly furnishing: FilterRow["furnishing"]
}

/** The user already has as many filters as allowed. */
export class FilterLimitReached extends Data.TaggedError("FilterLimitReached")<{
  readonly limit: number
}> {}

export const valuesOfDraft = (draft: FilterDraft): FilterValues => ({
  name: draft.name,
  market: draft.market,
  districtGroups: [...draft.districtGroups].sort(),
  priceMin: draft.priceMin,
  priceMax: draft.priceMax,
  rooms: [...draft.rooms].sort((a, b) => a - b),
  rentPeriods: [...draft.rentPeriods].sort(),
  furnishing: draft.furnishing,
})

const columns = (v: FilterValues) => ({
  name: v.name,
  market: v.market,
  districtGroups: [...v.districtGroups],
  priceMin: v.priceMin,
  priceMax: v.priceMax,
  rooms: [...v.rooms],
  rentPeriods: [...v.rentPeriods],
  furnishing: v.furnishing,
})

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * A user's searches. Every method takes the acting user's id and touches only that user's rows,
 * so a filter id from a forged or stale button can never reach someone else's filter.
 */
export class Filters extends Effect.Service<Filters>()("@flatwatch/bot/Filters", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)
    const mine = (userId: number, filterId: number) =>
      and(eq(filters.id, filterId), eq(filters.userId, userId))

    const list = Effect.fn("Filters.list")(function* (userId: number) {
      return yield* Database.query((db) =>
        db.select().from(filters).where(eq(filters.userId, userId)).orderBy(asc(filters.id)),
      )
    }, withDb)

    /** The filter if it exists and belongs to `userId`. */
    const owned = Effect.fn("Filters.owned")(function* (userId: number, filterId: number) {
      const rows = yield* Database.query((db) =>
        db.select().from(filters).where(mine(userId, filterId)),
      )
      return rows[0]
    }, withDb)

    /** Creates a filter unless the user is at `limit`; the check and insert are atomic. */
    const create = Effect.fn("Filters.create")(function* (
      userId: number,
      values: FilterValues,
      limit: number,
    ) {
      return yield* Database.transaction(
        Effect.gen(function* () {
          // Lock the user's row so two saves at once cannot both pass the limit. NO KEY UPDATE
          // (the same lock Subscriptions takes), so notices the subscriptions worker queues for
          // this user meanwhile (a foreign key: KEY SHARE) do not wait on it.
          yield* Database.query((db) =>
            db
              .select({ id: users.id })
              .from(users)
              .where(eq(users.id, userId))
              .for("no key update"),
          )
          const [existing] = yield* Database.query((db) =>
            db.select({ n: count() }).from(filters).where(eq(filters.userId, userId)),
          )
          if ((existing?.n ?? 0) >= limit) return yield* new FilterLimitReached({ limit })
          const rows = yield* Database.query((db) =>
            db
              .insert(filters)
              .values({ userId, ...columns(values) })
              .returning(),
          )
          const row = rows[0]
          if (row === undefined) return yield* Effect.dieMessage("insert returned no row")
          return row
        }),
      )
    }, withDb)

    /** Replaces the criteria and name of an owned filter; undefined if it is gone. */
    const update = Effect.fn("Filters.update")(function* (
      userId: number,
      filterId: number,
      values: FilterValues,
    ) {
      const at = yield* now
      const rows = yield* Database.query((db) =>
        db
          .update(filters)
          .set({ ...columns(values), updatedAt: at })
          .where(mine(userId, filterId))
          .returning(),
      )
      return rows[0]
    }, withDb)

    const rename = Effect.fn("Filters.rename")(function* (
      userId: number,
      filterId: number,
      name: string,
    ) {
      const at = yield* now
      const rows = yield* Database.query((db) =>
        db.update(filters).set({ name, updatedAt: at }).where(mine(userId, filterId)).returning(),
      )
      return rows[0]
    }, withDb)

    const setActive = Effect.fn("Filters.setActive")(function* (
      userId: number,
      filterId: number,
      active: boolean,
    ) {
      const at = yield* now
      const rows = yield* Database.query((db) =>
        db.update(filters).set({ active, updatedAt: at }).where(mine(userId, filterId)).returning(),
      )
      return rows[0]
    }, withDb)

    const remove = Effect.fn("Filters.remove")(function* (userId: number, filterId: number) {
      const rows = yield* Database.query((db) =>
        db.delete(filters).where(mine(userId, filterId)).returning(),
      )
      return rows[0]
    }, withDb)

    /**
     * How many listings first stored in the last `window` (default 7 days) match the filter,
     * with exactly the alert matching's rules (`listingMatchesFilter`).
     */
    const recentMatches = Effect.fn("Filters.recentMatches")(function* (
      filterId: number,
      window: Duration.DurationInput = Duration.days(7),
    ) {
      const since = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(window))
      const [row] = yield* Database.query((db) =>
        db
          .select({ n: count() })
          .from(listings)
          .innerJoin(filters, and(eq(filters.id, filterId), listingMatchesFilter))
          .where(gte(listings.firstSeenAt, since)),
      )
      return row?.n ?? 0
    }, withDb)

    return { list, owned, create, update, rename, setActive, remove, recentMatches } as const
  }),
}) {}
