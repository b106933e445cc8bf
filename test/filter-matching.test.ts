/**
 * The bot says, after a search is saved, how many listings of the last week "would have reached
 * you" (`Filters.recentMatches`, SQL in libs/bot), and the parser queues alerts by its own SQL
 * (libs/parser, checked against `filterMatches` by its own property test). The two libraries
 * may not import each other, so this test keeps the bot's rule equal to `filterMatches`.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { Filters } from "@flatwatch/bot/Filters"
import { Database } from "@flatwatch/db/Database"
import { filters, listings, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import type { RentPeriod } from "@flatwatch/parser/Listing"
import { filterMatches, type MatchFilter, type MatchListing } from "@flatwatch/parser/Matching"
import { Duration, Effect, Layer, ManagedRuntime, TestClock, TestContext } from "effect"
import fc from "fast-check"

setDefaultTimeout(60_000)

const runtime = ManagedRuntime.make(
  Filters.Default.pipe(Layer.provideMerge(TestDatabase.layer("filter-matching-test"))),
)
afterAll(() => runtime.dispose())

const NOW = Date.UTC(2026, 10, 20, 12)
const DAY = Duration.toMillis(Duration.days(1))
const GROUPS = ["Dubai Marina", "JLT", "Downtown", "JVC"]
const PERIODS: Array<RentPeriod> = ["monthly", "yearly", "weekly", "daily"]

/** Half the time "any" (empty), else a subset: matches must be common for the test to bite. */
const anyOrSome = <T>(values: ReadonlyArray<T>) =>
  fc.oneof(fc.constant<Array<T>>([]), fc.subarray([...values], { minLength: 1 }))
const price = fc.integer({ min: 0, max: 20_000 })
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 2 })

const filterArb: fc.Arbitrary<MatchFilter> = fc
  .record({
    active: fc.constant(true),
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

/** Stores the filters and listings (seen yesterday) afresh; the bot's count for each filter. */
const botCounts = (fs: ReadonlyArray<MatchFilter>, ls: ReadonlyArray<MatchListing>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      yield* Database.sql((sql) => sql`truncate users, listings restart identity cascade`)
      yield* Database.query((db) => db.insert(users).values({ id: 1, chatId: 1 }))
      yield* Database.query((db) =>
        db.insert(listings).values(
          ls.map((l, i) => ({
            source: "test",
            externalId: `l${i}`,
            market: l.market,
            url: `https://example.test/${i}`,
            title: "Flat",
            price: l.price,
            priceOriginal: l.price,
            rentPeriod: l.rentPeriod,
            currency: "AED",
            rooms: l.rooms,
            districtGroups: [...l.districtGroups],
            furnished: l.furnished,
            firstSeenAt: new Date(NOW - DAY),
          })),
        ),
      )
      const rows = yield* Database.query((db) =>
        db
          .insert(filters)
          .values(
            fs.map((f, i) => ({
              userId: 1,
              name: `f${i}`,
              market: f.market,
              districtGroups: [...f.districtGroups],
              priceMin: f.priceMin,
              priceMax: f.priceMax,
              rooms: [...f.rooms],
              rentPeriods: [...f.rentPeriods],
              furnishing: f.furnishing,
            })),
          )
          .returning({ id: filters.id }),
      )
      const service = yield* Filters
      return yield* Effect.forEach(rows, (row) => service.recentMatches(row.id))
    }).pipe(Effect.provide(TestContext.TestContext)),
  )

test("the bot's count of listings that would have reached you follows the alert matching rule", async () => {
  let matched = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(filterArb, { minLength: 1, maxLength: 4 }),
      fc.array(listingArb, { minLength: 1, maxLength: 8 }),
      async (fs, ls) => {
        const expected = fs.map((f) => ls.filter((l) => filterMatches(f, l)).length)
        matched += expected.reduce((a, b) => a + b, 0)
        expect(await botCounts(fs, ls)).toEqual(expected)
      },
    ),
    { numRuns: 25 },
  )
  // The generators make matches common; a run where nothing matched would prove nothing.
  expect(matched).toBeGreaterThan(10)
})
