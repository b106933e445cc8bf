/**
 * The markets a user can search in, with what the filter editor needs to know about each: the
 * currency of its (monthly) prices, its district groups, and sensible price picks.
 *
 * The Dubai district groups below are the 19 keys of `shared/reference/dubai-district-groups.json`,
 * stored verbatim in `filters.district_groups` and expected verbatim in `listings.district_groups`.
 * The parser encodes the same groups with their neighbourhoods; the bot may not import the parser,
 * so `Markets.test.ts` checks this list against the reference.
 */

export const DUBAI_DISTRICT_GROUPS = [
  "Citywalk",
  "Bluewaters",
  "The Palm Jumeirah",
  "Dubai Marina",
  "Business Bay",
  "Downtown",
  "DIFC",
  "ZAABEL + DHCC",
  "Dubai Media City + Dubai Internet City",
  "JLT",
  "JVC",
  "Meydan: Sobha + Azizi Riviera",
  "Dubai Design District + Al Jaddaf",
  "JVT",
  "Creek Harbour",
  "Dubai Production City + Sport City + Motor City",
  "Al Furjan + Discovery Garden",
  "Al Quoz",
  "Al Barsha + Arjan",
] as const

export type MarketId = "dubai" | "moscow"

export interface Market {
  readonly id: MarketId
  /** ISO code of the monthly prices stored for this market. */
  readonly currency: string
  /** What a user can pick; empty when the market has no groups (then "anywhere" only). */
  readonly districtGroups: ReadonlyArray<string>
  /** Quick picks for the monthly price bounds. */
  readonly pricePicks: ReadonlyArray<number>
  /** Anything above this per month is a typo, not a flat. */
  readonly maxPrice: number
}

export const markets: Readonly<Record<MarketId, Market>> = {
  dubai: {
    id: "dubai",
    currency: "AED",
    districtGroups: DUBAI_DISTRICT_GROUPS,
    pricePicks: [3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000],
    maxPrice: 1_000_000,
  },
  moscow: {
    id: "moscow",
    currency: "RUB",
    districtGroups: [],
    pricePicks: [30_000, 50_000, 70_000, 100_000, 150_000, 200_000, 300_000, 500_000],
    maxPrice: 50_000_000,
  },
}

export const isMarketId = (id: string): id is MarketId => Object.hasOwn(markets, id)
