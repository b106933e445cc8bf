import { filters, listings } from "@flatwatch/db/schema"
import { type SQL, sql } from "drizzle-orm"

/**
 * When a listing matches a filter, as one SQL condition over `listings` and `filters` (the
 * alert matching of DESIGN.md flow 2, minus the user's access, pause and blocked checks):
 * - same market;
 * - district groups overlap (an empty filter list means anywhere);
 * - the monthly price within the bounds (null = unbounded);
 * - rooms exactly one of the filter's (0 = studio; 5 matches five or more); empty = any, and a
 *   listing whose rooms are unknown matches only "any";
 * - the rent period one of the filter's (empty = any);
 * - furnishing: null = any; otherwise the listing must say so (unknown does not match).
 *
 * The parser queues alerts with its own SQL (libs/parser `Matching`), which the bot may not
 * import (libraries depend on telegram and db, not on each other): `test/filter-matching.test.ts`
 * keeps this condition equal to the parser's `filterMatches`, which the parser's SQL is tested
 * against.
 */
export const listingMatchesFilter: SQL = sql`(
  ${filters.market} = ${listings.market}
  AND (cardinality(${filters.districtGroups}) = 0 OR ${listings.districtGroups} && ${filters.districtGroups})
  AND (${filters.priceMin} IS NULL OR ${listings.price} >= ${filters.priceMin})
  AND (${filters.priceMax} IS NULL OR ${listings.price} <= ${filters.priceMax})
  AND (
    cardinality(${filters.rooms}) = 0
    OR ${listings.rooms} = ANY(${filters.rooms})
    OR (${listings.rooms} >= 5 AND 5 = ANY(${filters.rooms}))
  )
  AND (cardinality(${filters.rentPeriods}) = 0 OR ${listings.rentPeriod} = ANY(${filters.rentPeriods}))
  AND (${filters.furnishing} IS NULL OR ${listings.furnished} = (${filters.furnishing} = 'furnished'))
)`
