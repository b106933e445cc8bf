/**
 * Synthetic but plausible Dubai data for matching benchmarks, from a fixed seed: listings spread
 * over the 19 district groups by popularity, prices by room count, and filters the way people set
 * them (1-3 districts, one or two room counts, a budget band of +-15% around a price they
 * expect). About 1.5% of the filters match a listing (some 600 of the 20,000 users), which is on
 * the generous side of what people look for, so alert counts (and insert times) are not flattered.
 */
import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { loadMarkets } from "@flatwatch/market/Markets"
import { Effect } from "effect"

const DUBAI_DISTRICT_GROUP_NAMES =
  (await Effect.runPromise(loadMarkets())).get("dubai")?.districtGroups.map((g) => g.name) ?? []

let seed = 42
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
const weighted = <T>(items: ReadonlyArray<readonly [T, number]>): T => {
  const total = items.reduce((s, [, w]) => s + w, 0)
  let r = random() * total
  for (const [item, w] of items) {
    r -= w
    if (r <= 0) return item
  }
  return items[items.length - 1]?.[0] as T
}

/** More listings (and more people looking) in some districts than in others. */
const GROUPS = DUBAI_DISTRICT_GROUP_NAMES.map((g, i) => [g, i < 4 ? 6 : i < 10 ? 4 : 2] as const)
const ROOMS = [
  [0, 15],
  [1, 35],
  [2, 30],
  [3, 13],
  [4, 5],
  [5, 2],
] as const
const BASE_PRICE = [5_000, 8_000, 12_000, 18_000, 25_000, 35_000]
const priceFor = (rooms: number) =>
  Math.round((BASE_PRICE[Math.min(rooms, 5)] ?? 10_000) * (0.6 + random() * 1.2))
const pickGroups = (n: number) => {
  const out = new Set<string>()
  while (out.size < n) out.add(weighted(GROUPS))
  return [...out]
}
const pgArray = (values: ReadonlyArray<string | number>) =>
  `{${values.map((v) => (typeof v === "number" ? String(v) : `"${v}"`)).join(",")}}`
const chunks = <T>(rows: ReadonlyArray<T>, size: number) =>
  Array.from({ length: Math.ceil(rows.length / size) }, (_, i) =>
    rows.slice(i * size, (i + 1) * size),
  )

export interface MatchingData {
  readonly listingIds: ReadonlyArray<number>
}

/**
 * `broad`: filters as described above (about 1.5% of filters match a listing). `narrow`: everyone
 * names one district group, one room count, a +-5% budget, the rent period and the furnishing
 * (a few hundredths of a percent match: tens of users per listing).
 */
export type FilterProfile = "broad" | "narrow"

/** Inserts `users` subscribed users with `filters` filters between them, and `listings` listings. */
export const buildMatchingData = (
  counts: { readonly users: number; readonly filters: number; readonly listings: number },
  now: Date,
  profile: FilterProfile = "broad",
): Effect.Effect<MatchingData, DatabaseError, Database> =>
  Effect.gen(function* () {
    seed = 42
    const users = Array.from({ length: counts.users }, (_, i) => ({
      id: 1_000_000 + i,
      chat_id: 1_000_000 + i,
    }))
    for (const part of chunks(users, 5000))
      yield* Database.sql((sql) => sql`insert into users ${sql(part)}`)
    const subs = users.map((u) => ({
      user_id: u.id,
      plan: "month",
      starts_at: new Date(now.getTime() - int(1, 20) * 86_400_000).toISOString(),
      ends_at: new Date(now.getTime() + int(1, 20) * 86_400_000).toISOString(),
      status: "active",
    }))
    for (const part of chunks(subs, 5000))
      yield* Database.sql((sql) => sql`insert into subscriptions ${sql(part)}`)
    const filters = Array.from({ length: counts.filters }, (_, i) => {
      const room = weighted(ROOMS)
      const mid = priceFor(room)
      const user_id = users[i % counts.users]?.id ?? 0
      if (profile === "narrow") {
        return {
          user_id,
          name: `filter ${i}`,
          market: "dubai",
          district_groups: pgArray(pickGroups(1)),
          price_min: Math.round(mid * 0.95),
          price_max: Math.round(mid * 1.05),
          rooms: pgArray([room]),
          rent_periods: pgArray([random() < 0.7 ? "yearly" : "monthly"]),
          furnishing: random() < 0.5 ? "furnished" : "unfurnished",
        }
      }
      const rooms = random() < 0.05 ? [] : random() < 0.75 ? [room] : [room, Math.min(room + 1, 5)]
      const bounded = random() < 0.8
      return {
        user_id,
        name: `filter ${i}`,
        market: "dubai",
        district_groups: pgArray(
          random() < 0.05
            ? []
            : pickGroups(
                weighted([
                  [1, 5],
                  [2, 3],
                  [3, 2],
                ]),
              ),
        ),
        price_min: bounded ? Math.round(mid * 0.85) : null,
        price_max: Math.round(mid * 1.15),
        rooms: pgArray([...new Set(rooms)]),
        rent_periods: pgArray(random() < 0.85 ? [] : [random() < 0.5 ? "monthly" : "yearly"]),
        furnishing: random() < 0.7 ? null : random() < 0.5 ? "furnished" : "unfurnished",
      }
    })
    for (const part of chunks(filters, 5000))
      yield* Database.sql((sql) => sql`insert into filters ${sql(part)}`)
    const listings = Array.from({ length: counts.listings }, (_, i) => {
      const rooms = weighted(ROOMS)
      const price = priceFor(rooms)
      const yearly = random() < 0.7
      return {
        source: "bench",
        external_id: String(i),
        market: "dubai",
        url: `https://example.test/${i}`,
        title: `Listing ${i}`,
        price,
        price_original: yearly ? price * 12 : price,
        rent_period: yearly ? "yearly" : "monthly",
        currency: "AED",
        rooms,
        furnished: random() < 0.5,
        district_groups: pgArray(pickGroups(random() < 0.7 ? 1 : 2)),
      }
    })
    const listingIds: Array<number> = []
    for (const part of chunks(listings, 250)) {
      const rows = yield* Database.sql(
        (sql) => sql<{ id: string }[]>`insert into listings ${sql(part)} returning id`,
      )
      listingIds.push(...rows.map((r) => Number(r.id)))
    }
    yield* Database.sql((sql) => sql`analyze`)
    return { listingIds }
  })
