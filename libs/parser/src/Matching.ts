import { Database, type DatabaseError, type Sql } from "@flatwatch/db/Database"
import { Effect } from "effect"
import type { RentPeriod } from "./Listing.ts"

/** The parts of a filter that matching reads. */
export interface MatchFilter {
  readonly active: boolean
  readonly market: string
  /** Empty = anywhere. */
  readonly districtGroups: ReadonlyArray<string>
  readonly priceMin: number | null
  readonly priceMax: number | null
  /** 0 = studio, 5 = five or more; empty = any. */
  readonly rooms: ReadonlyArray<number>
  /** Empty = any. */
  readonly rentPeriods: ReadonlyArray<RentPeriod>
  /** null = any. */
  readonly furnishing: "furnished" | "unfurnished" | null
}

/** The parts of a listing that matching reads. */
export interface MatchListing {
  readonly market: string
  /** Monthly. */
  readonly price: number
  readonly rooms: number | null
  readonly rentPeriod: RentPeriod
  readonly furnished: boolean | null
  readonly districtGroups: ReadonlyArray<string>
}

/**
 * Whether `filter` wants `listing`: the same market; a district group in common (or no groups);
 * the monthly price within the bounds; the room count exactly (studio is 0, "5" is five or more;
 * an unknown room count matches only "any"); the rent period; the furnishing (unknown matches
 * only "any"). The SQL in `queueListingAlerts` implements exactly this; a property test keeps
 * the two in agreement.
 */
export const filterMatches = (filter: MatchFilter, listing: MatchListing): boolean =>
  filter.active &&
  filter.market === listing.market &&
  (filter.districtGroups.length === 0 ||
    filter.districtGroups.some((g) => listing.districtGroups.includes(g))) &&
  (filter.priceMin === null || listing.price >= filter.priceMin) &&
  (filter.priceMax === null || listing.price <= filter.priceMax) &&
  (filter.rooms.length === 0 ||
    (listing.rooms !== null && filter.rooms.includes(Math.min(listing.rooms, 5)))) &&
  (filter.rentPeriods.length === 0 || filter.rentPeriods.includes(listing.rentPeriod)) &&
  (filter.furnishing === null ||
    (listing.furnished !== null && listing.furnished === (filter.furnishing === "furnished")))

/** A user's standing for alerts. */
export interface MatchUser {
  readonly blockedAt: Date | null
  readonly pausedAt: Date | null
  readonly subscriptions: ReadonlyArray<{
    readonly status: "active" | "expired" | "refunded"
    readonly startsAt: Date
    readonly endsAt: Date
  }>
}

/** Whether the user gets alerts at `now`: not blocked, not paused, an active period covering now. */
export const userReceivesAlerts = (user: MatchUser, now: Date): boolean =>
  user.blockedAt === null &&
  user.pausedAt === null &&
  user.subscriptions.some(
    (s) =>
      s.status === "active" &&
      s.startsAt.getTime() <= now.getTime() &&
      now.getTime() < s.endsAt.getTime(),
  )

/**
 * The (filter, user, listing) triples where an active filter of a user who receives alerts at
 * `now` matches one of `listingIds`. The join is an equality join on expanded keys (room key,
 * district key), so it stays a hash join whatever the number of filters: a listing carries the
 * keys "any room" (-1) and its room count capped at 5, and "any district" ('') plus its groups;
 * a filter carries its room counts (or -1) and its groups (or '').
 */
const matchCandidates = (sql: Sql, listingIds: ReadonlyArray<number>, now: string) => sql`
  with new_listings as (
    select id, market, price, rooms, rent_period, furnished, district_groups
    from listings where id = any(${sql.array(listingIds as Array<number>)}::bigint[])
  ),
  listing_keys as (
    select nl.id, nl.market, nl.price, nl.rent_period, nl.furnished, rk.room_key, dk.district_key
    from new_listings nl
    cross join lateral unnest(
      case when nl.rooms is null then array[-1] else array[-1, least(nl.rooms, 5)::int] end
    ) as rk(room_key)
    cross join lateral unnest(array_prepend(''::text, nl.district_groups)) as dk(district_key)
  ),
  eligible_filters as (
    select f.id, f.user_id, u.chat_id, f.market, f.price_min, f.price_max, f.rooms,
           f.district_groups, f.rent_periods, f.furnishing
    from filters f
    join users u on u.id = f.user_id
    where f.active
      and f.market in (select distinct market from new_listings)
      and u.blocked_at is null
      and u.paused_at is null
      and exists (
        select 1 from subscriptions s
        where s.user_id = f.user_id and s.status = 'active'
          and s.starts_at <= ${now}::timestamptz and s.ends_at > ${now}::timestamptz
      )
  ),
  filter_keys as (
    select ef.*, fr.room_key, fd.district_key
    from eligible_filters ef
    cross join lateral unnest(
      case when cardinality(ef.rooms) = 0 then array[-1] else ef.rooms end
    ) as fr(room_key)
    cross join lateral unnest(
      case when cardinality(ef.district_groups) = 0 then array[''::text] else ef.district_groups end
    ) as fd(district_key)
  ),
  candidates as (
    select fk.id as filter_id, fk.user_id, fk.chat_id, lk.id as listing_id
    from filter_keys fk
    join listing_keys lk
      on lk.market = fk.market and lk.room_key = fk.room_key and lk.district_key = fk.district_key
    where (fk.price_min is null or lk.price >= fk.price_min)
      and (fk.price_max is null or lk.price <= fk.price_max)
      and (cardinality(fk.rent_periods) = 0 or lk.rent_period = any(fk.rent_periods))
      and (fk.furnishing is null or lk.furnished = (fk.furnishing = 'furnished'))
  )
`

/** Planner settings for the matching statements, for the current transaction only (see below). */
const matchingPlan = Database.sql((sql) =>
  // The row estimates of the unnested keys are guesses (10 per array), which makes PostgreSQL
  // prefer a merge join that sorts millions of estimated rows, and JIT-compile the statement for
  // ~0.7 s; a hash join on the small listing side, with memory to sort the result, is what fits
  // (see bench/parser-matching.bench.ts).
  sql.unsafe("set local jit = off; set local enable_mergejoin = off; set local work_mem = '64MB'"),
)

/** `statement` in a transaction (a savepoint inside one) that uses the matching plan settings. */
const withMatchingPlan = <A>(
  statement: Effect.Effect<A, DatabaseError, Database>,
): Effect.Effect<A, DatabaseError, Database> =>
  Database.transaction(Effect.zipRight(matchingPlan, statement))

/**
 * How many (user, listing) alerts `queueListingAlerts` would queue for these listings now,
 * without queuing them (for dry runs and benchmarks).
 */
export const countListingMatches = (
  listingIds: ReadonlyArray<number>,
  now: Date,
): Effect.Effect<number, DatabaseError, Database> =>
  listingIds.length === 0
    ? Effect.succeed(0)
    : withMatchingPlan(
        Database.sql(
          (sql) => sql<{ n: number }[]>`
            ${matchCandidates(sql, listingIds, now.toISOString())}
            select count(*)::int as n from (select distinct user_id, listing_id from candidates) pairs
          `,
        ),
      ).pipe(Effect.map((rows) => rows[0]?.n ?? 0))

/**
 * Queues one `listing` alert per (user, listing) for the given listings, in one
 * `INSERT ... SELECT ... ON CONFLICT (dedupe_key) DO NOTHING`: a user whose several filters match
 * gets one message (referencing their lowest matching filter); a user who already has one is
 * skipped. Joins the current transaction (as a savepoint; outside one, it opens its own).
 * Returns the number of rows queued.
 */
export const queueListingAlerts = (
  listingIds: ReadonlyArray<number>,
  now: Date,
): Effect.Effect<number, DatabaseError, Database> =>
  listingIds.length === 0
    ? Effect.succeed(0)
    : withMatchingPlan(
        Database.sql((sql) => {
          const at = now.toISOString()
          return sql`
            ${matchCandidates(sql, listingIds, at)}
            insert into deliveries (user_id, chat_id, kind, listing_id, filter_id, dedupe_key, next_attempt_at)
            select distinct on (user_id, listing_id)
              user_id, chat_id, 'listing', listing_id, filter_id,
              'listing:' || user_id || ':' || listing_id, ${at}::timestamptz
            from candidates
            order by user_id, listing_id, filter_id
            on conflict (dedupe_key) do nothing
          `
        }),
      ).pipe(
        Effect.map((result) => result.count),
        Effect.withSpan("Matching.queueListingAlerts", {
          attributes: { listings: listingIds.length },
        }),
      )

export interface PriceDrop {
  readonly listingId: number
  readonly oldPrice: number
  readonly newPrice: number
  /** The `listing_prices` row that recorded this change: the alert's identity. */
  readonly priceId: number
}

/**
 * Queues a `price_drop` alert ({oldPrice, newPrice}) for each user who already got the listing
 * (its `listing` alert was sent or is being sent) and whose filters still match it. Idempotent
 * per (user, price change): the key names the `listing_prices` row
 * (`price_drop:<user>:<listing>:<priceId>`), so queuing one change twice alerts once, while a
 * later drop to a price seen before (9000 -> 8000 -> 9000 -> 8000) alerts again.
 */
export const queuePriceDropAlerts = (
  drops: ReadonlyArray<PriceDrop>,
  now: Date,
): Effect.Effect<number, DatabaseError, Database> =>
  drops.length === 0
    ? Effect.succeed(0)
    : Database.sql((sql) => {
        const at = now.toISOString()
        const ids = drops.map((d) => d.listingId)
        return sql`
          ${matchCandidates(sql, ids, at)},
          drops as (
            select * from unnest(
              ${sql.array(ids)}::bigint[],
              ${sql.array(drops.map((d) => d.oldPrice))}::int[],
              ${sql.array(drops.map((d) => d.newPrice))}::int[],
              ${sql.array(drops.map((d) => d.priceId))}::bigint[]
            ) as t(listing_id, old_price, new_price, price_id)
          ),
          recipients as (
            select distinct d.user_id, d.listing_id
            from deliveries d
            join drops on drops.listing_id = d.listing_id
            where d.kind = 'listing' and d.status in ('sent', 'sending')
          )
          insert into deliveries
            (user_id, chat_id, kind, listing_id, filter_id, payload, dedupe_key, next_attempt_at)
          select distinct on (c.user_id, c.listing_id)
            c.user_id, c.chat_id, 'price_drop', c.listing_id, c.filter_id,
            jsonb_build_object('oldPrice', dr.old_price, 'newPrice', dr.new_price),
            'price_drop:' || c.user_id || ':' || c.listing_id || ':' || dr.price_id,
            ${at}::timestamptz
          from candidates c
          join recipients r on r.user_id = c.user_id and r.listing_id = c.listing_id
          join drops dr on dr.listing_id = c.listing_id
          order by c.user_id, c.listing_id, c.filter_id
          on conflict (dedupe_key) do nothing
        `
      }).pipe(
        Effect.map((result) => result.count),
        Effect.withSpan("Matching.queuePriceDropAlerts", {
          attributes: { listings: drops.length },
        }),
      )
