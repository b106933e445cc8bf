import { afterAll, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { botSessions, listings, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Duration, Effect, Either, Layer, ManagedRuntime, TestClock, TestContext } from "effect"
import { Filters, type FilterValues } from "./Filters.ts"
import { SessionStore } from "./SessionStore.ts"

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Filters.Default, SessionStore.Default).pipe(
    Layer.provideMerge(TestDatabase.layer("bot-filters-test")),
  ),
)
afterAll(() => runtime.dispose())

const NOW = Date.UTC(2026, 10, 20, 12)
const DAY = Duration.toMillis(Duration.days(1))

const run = <A, E>(effect: Effect.Effect<A, E, Filters | SessionStore | Database>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      return yield* effect
    }).pipe(Effect.provide(TestContext.TestContext)),
  )

const any: FilterValues = {
  name: "f",
  market: "dubai",
  districtGroups: [],
  priceMin: null,
  priceMax: null,
  rooms: [],
  rentPeriods: [],
  furnishing: null,
}

type ListingOverrides = Partial<typeof listings.$inferInsert>
let seq = 0
const baseListing = (o: ListingOverrides) => ({
  source: "bayut",
  externalId: `l${++seq}`,
  market: "dubai",
  url: "https://example.test",
  title: "Flat",
  price: 10_000,
  priceOriginal: 10_000,
  rentPeriod: "monthly" as const,
  currency: "AED",
  rooms: 2,
  districtGroups: ["Dubai Marina"],
  furnished: true,
  firstSeenAt: new Date(NOW - DAY),
  ...o,
})

let userSeq = 0
/** Does a listing with these fields, stored now, match a filter with these values? */
const matches = (filter: Partial<FilterValues>, listing: ListingOverrides) =>
  run(
    Effect.gen(function* () {
      const userId = 1_000 + ++userSeq
      yield* Database.query((db) => db.insert(users).values({ id: userId, chatId: userId }))
      yield* Database.query((db) => db.delete(listings))
      yield* Database.query((db) => db.insert(listings).values(baseListing(listing)))
      const filters = yield* Filters
      const row = yield* filters.create(userId, { ...any, ...filter }, 5)
      return (yield* filters.recentMatches(row.id)) === 1
    }),
  )

test("rooms match exactly: studio is 0, 5 means five or more, empty means any", async () => {
  expect(await matches({ rooms: [1] }, { rooms: 1 })).toBe(true)
  expect(await matches({ rooms: [1] }, { rooms: 2 })).toBe(false)
  expect(await matches({ rooms: [1] }, { rooms: 0 })).toBe(false)
  expect(await matches({ rooms: [0] }, { rooms: 0 })).toBe(true)
  expect(await matches({ rooms: [1, 2] }, { rooms: 12 })).toBe(false)
  expect(await matches({ rooms: [5] }, { rooms: 5 })).toBe(true)
  expect(await matches({ rooms: [5] }, { rooms: 7 })).toBe(true)
  expect(await matches({ rooms: [4] }, { rooms: 7 })).toBe(false)
  expect(await matches({ rooms: [] }, { rooms: 3 })).toBe(true)
  expect(await matches({ rooms: [] }, { rooms: null })).toBe(true)
  expect(await matches({ rooms: [2] }, { rooms: null })).toBe(false)
})

test("monthly price within the bounds, inclusive; null bounds are open", async () => {
  expect(await matches({ priceMin: 10_000, priceMax: 10_000 }, { price: 10_000 })).toBe(true)
  expect(await matches({ priceMin: 10_001 }, { price: 10_000 })).toBe(false)
  expect(await matches({ priceMax: 9_999 }, { price: 10_000 })).toBe(false)
  // The monthly (normalised) price counts, not the yearly one the site showed.
  expect(
    await matches(
      { priceMax: 10_000 },
      { price: 9_000, priceOriginal: 108_000, rentPeriod: "yearly" },
    ),
  ).toBe(true)
})

test("district groups overlap; none chosen means anywhere", async () => {
  expect(
    await matches(
      { districtGroups: ["JLT", "Downtown"] },
      { districtGroups: ["Downtown", "DIFC"] },
    ),
  ).toBe(true)
  expect(await matches({ districtGroups: ["JLT"] }, { districtGroups: ["Downtown"] })).toBe(false)
  expect(await matches({ districtGroups: ["JLT"] }, { districtGroups: [] })).toBe(false)
  expect(await matches({ districtGroups: [] }, { districtGroups: [] })).toBe(true)
})

test("rent period one of those chosen; furnishing null means any, unknown matches only any", async () => {
  expect(await matches({ rentPeriods: ["yearly", "monthly"] }, { rentPeriod: "monthly" })).toBe(
    true,
  )
  expect(await matches({ rentPeriods: ["yearly"] }, { rentPeriod: "monthly" })).toBe(false)
  expect(await matches({ furnishing: "furnished" }, { furnished: true })).toBe(true)
  expect(await matches({ furnishing: "furnished" }, { furnished: false })).toBe(false)
  expect(await matches({ furnishing: "unfurnished" }, { furnished: false })).toBe(true)
  expect(await matches({ furnishing: "unfurnished" }, { furnished: null })).toBe(false)
  expect(await matches({ furnishing: null }, { furnished: null })).toBe(true)
})

test("same market only, and only listings first stored in the last 7 days (by the Clock)", async () => {
  expect(await matches({ market: "moscow" }, { market: "dubai" })).toBe(false)
  expect(await matches({}, { firstSeenAt: new Date(NOW - 7 * DAY + 1000) })).toBe(true)
  expect(await matches({}, { firstSeenAt: new Date(NOW - 7 * DAY - 1000) })).toBe(false)
})

test("two saves at once cannot pass the limit together", async () => {
  const result = await run(
    Effect.gen(function* () {
      yield* Database.query((db) => db.insert(users).values({ id: 77, chatId: 77 }))
      const filters = yield* Filters
      yield* filters.create(77, any, 2)
      return yield* Effect.all(
        [
          filters.create(77, any, 2).pipe(Effect.either),
          filters.create(77, any, 2).pipe(Effect.either),
        ],
        { concurrency: 2 },
      )
    }),
  )
  expect(result.filter(Either.isRight)).toHaveLength(1)
  expect(result.filter(Either.isLeft).map((e) => e.left._tag)).toEqual(["FilterLimitReached"])
})

test("sessions: an empty session keeps no row; a row of an unknown shape reads as no session", async () => {
  const rows = await run(
    Effect.gen(function* () {
      const store = yield* SessionStore
      yield* store.write("5", { awaiting: { _tag: "draftName" } })
      const written = yield* store.read("5")
      yield* store.write("5", {})
      const afterEmpty = yield* Database.query((db) => db.$count(botSessions))
      yield* Database.query((db) =>
        db.insert(botSessions).values({ key: "6", value: { draft: 42 } }),
      )
      const unknownShape = yield* store.read("6")
      return { written, afterEmpty, unknownShape }
    }),
  )
  expect(rows).toEqual({
    written: { awaiting: { _tag: "draftName" } },
    afterEmpty: 0,
    unknownShape: undefined,
  })
})
