import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import {
  deliveries,
  filters,
  listingPrices,
  listings,
  subscriptions,
  users,
} from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { eq } from "drizzle-orm"
import { Effect, ManagedRuntime } from "effect"
import fc from "fast-check"
import type { RentPeriod } from "./Listing.ts"
import {
  filterMatches,
  type MatchFilter,
  type MatchListing,
  type MatchUser,
  queueListingAlerts,
  queuePriceDropAlerts,
  userReceivesAlerts,
} from "./Matching.ts"

const runtime = ManagedRuntime.make(TestDatabase.layer("parser-matching-test"))
const run = <A, E>(effect: Effect.Effect<A, E, Database>) => runtime.runPromise(effect)
beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())

const NOW = new Date("2025-06-01T12:00:00Z")
const DAY = 86_400_000

// DELETE, not TRUNCATE: much faster on tables this small; the property test resets 200 times.
const reset = Database.sql((sql) =>
  sql.unsafe(`delete from deliveries; delete from listing_prices; delete from listings;
    delete from subscriptions; delete from filters; delete from users`),
)

interface UserSpec extends MatchUser {
  readonly id: number
}

const insertUser = (user: UserSpec) =>
  Effect.gen(function* () {
    yield* Database.query((db) =>
      db.insert(users).values({
        id: user.id,
        chatId: user.id + 1,
        blockedAt: user.blockedAt,
        pausedAt: user.pausedAt,
      }),
    )
    if (user.subscriptions.length > 0) {
      yield* Database.query((db) =>
        db
          .insert(subscriptions)
          .values(
            user.subscriptions.map((s) => ({ userId: user.id, plan: "month" as const, ...s })),
          ),
      )
    }
  })

const insertFilter = (userId: number, f: MatchFilter) =>
  Database.query((db) =>
    db
      .insert(filters)
      .values({
        userId,
        name: "f",
        market: f.market,
        districtGroups: [...f.districtGroups],
        priceMin: f.priceMin,
        priceMax: f.priceMax,
        rooms: [...f.rooms],
        rentPeriods: [...f.rentPeriods],
        furnishing: f.furnishing,
        active: f.active,
      })
      .returning({ id: filters.id }),
  ).pipe(Effect.map((rows) => rows[0]?.id ?? -1))

let nextExternal = 1
const insertListing = (l: MatchListing) =>
  Database.query((db) =>
    db
      .insert(listings)
      .values({
        source: "test",
        externalId: String(nextExternal++),
        market: l.market,
        url: "https://example.test/l",
        title: "Flat",
        price: l.price,
        priceOriginal: l.price,
        rentPeriod: l.rentPeriod,
        currency: "AED",
        rooms: l.rooms,
        furnished: l.furnished,
        districtGroups: [...l.districtGroups],
      })
      .returning({ id: listings.id }),
  ).pipe(Effect.map((rows) => rows[0]?.id ?? -1))

const queued = (kind: "listing" | "price_drop" = "listing") =>
  Database.query((db) =>
    db
      .select({
        userId: deliveries.userId,
        chatId: deliveries.chatId,
        listingId: deliveries.listingId,
        filterId: deliveries.filterId,
        dedupeKey: deliveries.dedupeKey,
        payload: deliveries.payload,
        status: deliveries.status,
        nextAttemptAt: deliveries.nextAttemptAt,
      })
      .from(deliveries)
      .where(eq(deliveries.kind, kind)),
  )

const active = {
  status: "active" as const,
  startsAt: new Date(NOW.getTime() - DAY),
  endsAt: new Date(NOW.getTime() + DAY),
}
const paying = (id: number): UserSpec => ({
  id,
  blockedAt: null,
  pausedAt: null,
  subscriptions: [active],
})
const anyFilter: MatchFilter = {
  active: true,
  market: "dubai",
  districtGroups: [],
  priceMin: null,
  priceMax: null,
  rooms: [],
  rentPeriods: [],
  furnishing: null,
}
const aListing: MatchListing = {
  market: "dubai",
  price: 10000,
  rooms: 1,
  rentPeriod: "monthly",
  furnished: true,
  districtGroups: ["Dubai Marina"],
}

beforeEach(() => run(reset))

describe("matching in SQL", () => {
  test("a studio is rooms 0, not 1; a one-room flat is not a studio", async () => {
    const [studioUser, oneRoomUser] = await run(
      Effect.gen(function* () {
        yield* insertUser(paying(1))
        yield* insertUser(paying(2))
        const studioFilter = yield* insertFilter(1, { ...anyFilter, rooms: [0] })
        const oneRoomFilter = yield* insertFilter(2, { ...anyFilter, rooms: [1] })
        return [studioFilter, oneRoomFilter]
      }),
    )
    const studio = await run(insertListing({ ...aListing, rooms: 0 }))
    const oneRoom = await run(insertListing({ ...aListing, rooms: 1 }))
    expect(await run(queueListingAlerts([studio, oneRoom], NOW))).toBe(2)
    const rows = await run(queued())
    expect(rows.map((r) => [r.userId, r.listingId, r.filterId]).sort()).toEqual(
      [
        [1, studio, studioUser],
        [2, oneRoom, oneRoomUser],
      ].sort(),
    )
  })

  test('"5" means five or more rooms; unknown rooms match only "any"', async () => {
    await run(insertUser(paying(1)))
    await run(insertUser(paying(2)))
    await run(insertFilter(1, { ...anyFilter, rooms: [5] }))
    await run(insertFilter(2, { ...anyFilter }))
    const seven = await run(insertListing({ ...aListing, rooms: 7 }))
    const unknown = await run(insertListing({ ...aListing, rooms: null }))
    await run(queueListingAlerts([seven, unknown], NOW))
    const pairs = (await run(queued())).map((r) => `${r.userId}:${r.listingId}`).sort()
    expect(pairs).toEqual([`1:${seven}`, `2:${seven}`, `2:${unknown}`].sort())
  })

  test("expired, not yet started, refunded, blocked and paused users get nothing", async () => {
    const past = {
      status: "active" as const,
      startsAt: new Date(NOW.getTime() - 3 * DAY),
      endsAt: new Date(NOW.getTime() - DAY),
    }
    const future = {
      status: "active" as const,
      startsAt: new Date(NOW.getTime() + DAY),
      endsAt: new Date(NOW.getTime() + 2 * DAY),
    }
    const refunded = { ...active, status: "refunded" as const }
    const expiredNow = {
      status: "active" as const,
      startsAt: new Date(NOW.getTime() - DAY),
      endsAt: NOW,
    }
    const people: Array<UserSpec> = [
      { id: 1, blockedAt: null, pausedAt: null, subscriptions: [past] },
      { id: 2, blockedAt: null, pausedAt: null, subscriptions: [future] },
      { id: 3, blockedAt: null, pausedAt: null, subscriptions: [refunded] },
      { id: 4, blockedAt: NOW, pausedAt: null, subscriptions: [active] },
      { id: 5, blockedAt: null, pausedAt: NOW, subscriptions: [active] },
      { id: 6, blockedAt: null, pausedAt: null, subscriptions: [expiredNow] },
      { id: 7, blockedAt: null, pausedAt: null, subscriptions: [] },
      { id: 8, blockedAt: null, pausedAt: null, subscriptions: [past, active] },
    ]
    for (const p of people) {
      await run(insertUser(p))
      await run(insertFilter(p.id, anyFilter))
    }
    const listing = await run(insertListing(aListing))
    await run(queueListingAlerts([listing], NOW))
    expect((await run(queued())).map((r) => r.userId)).toEqual([8])
  })

  test("two matching filters of one user give one alert (their lowest filter); a rerun adds nothing", async () => {
    await run(insertUser(paying(1)))
    const first = await run(insertFilter(1, { ...anyFilter, rooms: [1, 2] }))
    await run(insertFilter(1, { ...anyFilter, districtGroups: ["Dubai Marina", "JLT"] }))
    const listing = await run(insertListing(aListing))
    expect(await run(queueListingAlerts([listing], NOW))).toBe(1)
    expect(await run(queueListingAlerts([listing], NOW))).toBe(0)
    const rows = await run(queued())
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      userId: 1,
      chatId: 2,
      listingId: listing,
      filterId: first,
      dedupeKey: `listing:1:${listing}`,
      status: "pending",
      nextAttemptAt: NOW,
    })
  })

  test("price drop: users who got the listing and still match; once per price change", async () => {
    for (const id of [1, 2, 3]) await run(insertUser(paying(id)))
    await run(insertFilter(1, anyFilter))
    await run(insertFilter(2, { ...anyFilter, priceMax: 8000 }))
    await run(insertFilter(3, { ...anyFilter, rooms: [3] }))
    const listing = await run(insertListing({ ...aListing, price: 9000 }))
    // Users 1 and 3 got it before (user 3's filter has changed since); user 2 never did.
    await run(
      Database.query((db) =>
        db.insert(deliveries).values([
          {
            userId: 1,
            chatId: 2,
            kind: "listing",
            listingId: listing,
            dedupeKey: `listing:1:${listing}`,
            status: "sent",
          },
          {
            userId: 3,
            chatId: 4,
            kind: "listing",
            listingId: listing,
            dedupeKey: `listing:3:${listing}`,
            status: "sent",
          },
        ]),
      ),
    )
    const [change] = await run(
      Database.query((db) =>
        db
          .insert(listingPrices)
          .values({ listingId: listing, price: 9000, seenAt: NOW })
          .returning({ id: listingPrices.id }),
      ),
    )
    const priceId = change?.id ?? -1
    const drop = { listingId: listing, oldPrice: 12000, newPrice: 9000, priceId }
    expect(await run(queuePriceDropAlerts([drop], NOW))).toBe(1)
    expect(await run(queuePriceDropAlerts([drop], NOW))).toBe(0)
    const rows = await run(queued("price_drop"))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      userId: 1,
      dedupeKey: `price_drop:1:${listing}:${priceId}`,
      payload: { oldPrice: 12000, newPrice: 9000 },
    })
  })
})

// ---------------------------------------------------------------------------------------------

const GROUPS = ["Dubai Marina", "JLT", "Downtown", "JVC"]
const PERIODS: Array<RentPeriod> = ["monthly", "yearly", "weekly", "daily"]
/** Half the time "any" (empty), else a random subset: matches must be common for the test to bite. */
const anyOrSome = <T>(values: ReadonlyArray<T>) =>
  fc.oneof(fc.constant<Array<T>>([]), fc.subarray([...values], { minLength: 1 }))
const price = fc.integer({ min: 0, max: 20_000 })
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 2 })

const filterArb: fc.Arbitrary<MatchFilter> = fc
  .record({
    active: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(true), fc.constant(false)),
    market: fc.constantFrom("dubai", "dubai", "dubai", "moscow"),
    districtGroups: anyOrSome(GROUPS),
    bounds: fc.tuple(maybe(price), maybe(price)),
    rooms: anyOrSome([0, 1, 2, 3, 4, 5]),
    rentPeriods: anyOrSome(PERIODS),
    furnishing: fc.constantFrom(null, null, "furnished" as const, "unfurnished" as const),
  })
  .map(({ bounds: [a, b], ...f }) => ({
    ...f,
    priceMin: a !== null && b !== null ? Math.min(a, b) : a,
    priceMax: a !== null && b !== null ? Math.max(a, b) : b,
  }))

const listingArb: fc.Arbitrary<MatchListing> = fc.record({
  market: fc.constantFrom("dubai", "dubai", "dubai", "dubai", "moscow"),
  price: fc.integer({ min: 1, max: 20_000 }),
  rooms: fc.option(fc.integer({ min: 0, max: 8 }), { nil: null, freq: 5 }),
  rentPeriod: fc.constantFrom(...PERIODS),
  furnished: fc.option(fc.boolean(), { nil: null, freq: 4 }),
  districtGroups: fc.subarray(GROUPS),
})

const at = (days: number) => new Date(NOW.getTime() + days * DAY)
/** Periods around now: covering it, over, not started, ending exactly now, refunded, expired. */
const subscriptionArb = fc.constantFrom(
  { status: "active" as const, startsAt: at(-1), endsAt: at(1) },
  { status: "active" as const, startsAt: at(-1), endsAt: at(1) },
  { status: "active" as const, startsAt: at(-1), endsAt: at(30) },
  { status: "active" as const, startsAt: at(-10), endsAt: at(30) },
  { status: "active" as const, startsAt: at(-3), endsAt: at(-1) },
  { status: "active" as const, startsAt: at(1), endsAt: at(2) },
  { status: "active" as const, startsAt: at(-1), endsAt: NOW },
  { status: "active" as const, startsAt: NOW, endsAt: at(1) },
  { status: "refunded" as const, startsAt: at(-1), endsAt: at(1) },
  { status: "expired" as const, startsAt: at(-1), endsAt: at(1) },
)

const userArb = fc.record({
  blockedAt: fc.constantFrom(null, null, null, null, NOW),
  pausedAt: fc.constantFrom(null, null, null, null, NOW),
  subscriptions: fc.array(subscriptionArb, { minLength: 1, maxLength: 2 }),
  filters: fc.array(filterArb, { minLength: 1, maxLength: 3 }),
})

test("property: the SQL matching agrees with the TypeScript predicate", async () => {
  let matches = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(userArb, { minLength: 1, maxLength: 8 }),
      fc.array(listingArb, { minLength: 1, maxLength: 5 }),
      async (people, newListings) => {
        const { filterIds, listingIds } = await run(
          Effect.gen(function* () {
            yield* reset
            // Bulk inserts; RETURNING keeps the order of VALUES, so ids line up with the inputs.
            yield* Database.query((db) =>
              db.insert(users).values(
                people.map((p, i) => ({
                  id: i + 1,
                  chatId: i + 1001,
                  blockedAt: p.blockedAt,
                  pausedAt: p.pausedAt,
                })),
              ),
            )
            yield* Database.query((db) =>
              db.insert(subscriptions).values(
                people.flatMap((p, i) =>
                  p.subscriptions.map((sub) => ({
                    userId: i + 1,
                    plan: "month" as const,
                    ...sub,
                  })),
                ),
              ),
            )
            const owned = people.flatMap((p, i) =>
              p.filters.map((filter) => ({ userId: i + 1, filter })),
            )
            const ids = yield* Database.query((db) =>
              db
                .insert(filters)
                .values(
                  owned.map(({ userId, filter: f }) => ({
                    userId,
                    name: "f",
                    market: f.market,
                    districtGroups: [...f.districtGroups],
                    priceMin: f.priceMin,
                    priceMax: f.priceMax,
                    rooms: [...f.rooms],
                    rentPeriods: [...f.rentPeriods],
                    furnishing: f.furnishing,
                    active: f.active,
                  })),
                )
                .returning({ id: filters.id }),
            )
            const listingRows = yield* Database.query((db) =>
              db
                .insert(listings)
                .values(
                  newListings.map((l) => ({
                    source: "test",
                    externalId: String(nextExternal++),
                    market: l.market,
                    url: "https://example.test/l",
                    title: "Flat",
                    price: l.price,
                    priceOriginal: l.price,
                    rentPeriod: l.rentPeriod,
                    currency: "AED",
                    rooms: l.rooms,
                    furnished: l.furnished,
                    districtGroups: [...l.districtGroups],
                  })),
                )
                .returning({ id: listings.id }),
            )
            const listingIds = listingRows.map((r) => r.id)
            yield* queueListingAlerts(listingIds, NOW)
            return { filterIds: owned.map((o, k) => ({ ...o, id: ids[k]?.id ?? -1 })), listingIds }
          }),
        )
        const expected = new Map<string, number>()
        people.forEach((person, i) => {
          const userId = i + 1
          if (!userReceivesAlerts(person, NOW)) return
          newListings.forEach((l, j) => {
            const matching = filterIds.filter(
              (f) => f.userId === userId && filterMatches(f.filter, l),
            )
            if (matching.length > 0) {
              expected.set(`${userId}:${listingIds[j]}`, Math.min(...matching.map((f) => f.id)))
            }
          })
        })
        matches += expected.size
        const actual = new Map(
          (await run(queued())).map((r) => [`${r.userId}:${r.listingId}`, r.filterId ?? -1]),
        )
        expect(actual).toEqual(expected)
      },
    ),
    { numRuns: 200 },
  )
  // The generators must produce matches often, or agreement would prove little.
  expect(matches).toBeGreaterThan(60)
}, 120_000)
