import { groupsOf } from "@flatwatch/market/Market"
import type { MarketSet } from "@flatwatch/market/Markets"
import type { Listing } from "./Listing.ts"

/**
 * THE one place a listing gets its district groups, for every source alike: its market's
 * mapping of the listing's `neighbourhood` and `address` (each comma- or `›`-separated part is
 * tried, so a location path such as Bayut's or Property Finder's "Lagoon Views, Damac Lagoons,
 * Dubai" works). A source therefore only fills `neighbourhood`/`address`; whatever groups an
 * adapter set are replaced. A listing of a market that is not loaded gets none.
 */
export const withDistrictGroups = (markets: MarketSet, listing: Listing): Listing => {
  const market = markets.get(listing.market)
  const districtGroups =
    market === undefined ? [] : groupsOf(market, [listing.neighbourhood, listing.address])
  return { ...listing, districtGroups }
}
