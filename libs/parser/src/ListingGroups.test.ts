import { describe, expect, test } from "bun:test"
import { resolve } from "node:path"
import { loadMarkets } from "@flatwatch/market/Markets"
import { Effect } from "effect"
import type { Listing } from "./Listing.ts"
import { withDistrictGroups } from "./ListingGroups.ts"
import { describeShared, SHARED_REFERENCE_DIR } from "./SharedFixtures.ts"

const markets = await Effect.runPromise(loadMarkets())

const listing = (fields: Partial<Listing>): Listing => ({
  source: "test",
  externalId: "1",
  market: "dubai",
  url: "https://example.com/1",
  title: "Flat",
  description: null,
  price: 10_000,
  priceOriginal: 10_000,
  rentPeriod: "monthly",
  currency: "AED",
  rooms: 1,
  baths: null,
  areaM2: null,
  neighbourhood: null,
  districtGroups: [],
  address: null,
  furnished: null,
  photos: [],
  agentName: null,
  agencyName: null,
  agentPhone: null,
  permitNumber: null,
  postedAt: null,
  postedText: null,
  raw: null,
  ...fields,
})

const groups = (fields: Partial<Listing>) =>
  withDistrictGroups(markets, listing(fields)).districtGroups

describe("district groups of a listing", () => {
  test("from its neighbourhood and every part of its address, with its market's groups", () => {
    // Property Finder's location.full_name, as a config source fills it.
    expect(groups({ address: "Lagoon Views, Damac Lagoons, Dubai" })).toEqual([])
    expect(groups({ address: "Marina Gate, Dubai Marina, Dubai" })).toEqual(["Dubai Marina"])
    expect(groups({ neighbourhood: "Za'abeel", address: "Tower 1, Dubai Creek Harbour" })).toEqual([
      "Citywalk",
      "Creek Harbour",
      "Downtown",
      "ZAABEL + DHCC",
    ])
    expect(groups({ market: "berlin", neighbourhood: "Friedrichshain" })).toEqual([
      "Friedrichshain-Kreuzberg",
    ])
  })

  test("groups an adapter set are replaced; an unknown market or place gets none", () => {
    expect(groups({ districtGroups: ["JLT"], neighbourhood: "Atlantis" })).toEqual([])
    expect(groups({ market: "atlantis", neighbourhood: "Dubai Marina" })).toEqual([])
    // Another city's names do not leak across markets.
    expect(groups({ market: "berlin", neighbourhood: "Dubai Marina" })).toEqual([])
  })
})

describeShared("the shipped Dubai market (the shared reference)", () => {
  test("has exactly the 19 groups of dubai-district-groups.json, same keys, order, neighbourhoods", async () => {
    const reference = (await Bun.file(
      resolve(SHARED_REFERENCE_DIR, "dubai-district-groups.json"),
    ).json()) as Record<string, ReadonlyArray<string>>
    const dubai = markets.get("dubai")
    expect(Object.keys(reference)).toHaveLength(19)
    expect(dubai?.districtGroups.map((g) => g.name)).toEqual(Object.keys(reference))
    expect(
      Object.fromEntries(dubai?.districtGroups.map((g) => [g.name, g.neighbourhoods]) ?? []),
    ).toEqual(reference)
  })
})
