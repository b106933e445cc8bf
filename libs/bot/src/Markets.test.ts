import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { DUBAI_DISTRICT_GROUPS, markets } from "./Markets.ts"

const REFERENCE = resolve(
  import.meta.dir,
  "../../..",
  "../shared/reference/dubai-district-groups.json",
)

// Filters store the group names verbatim and listings carry the same names: one letter off and
// a search never matches.
test("the Dubai district groups are exactly the 19 of the shared reference, in its order", () => {
  const reference = Object.keys(JSON.parse(readFileSync(REFERENCE, "utf8")) as object)
  expect(reference).toHaveLength(19)
  expect<ReadonlyArray<string>>(DUBAI_DISTRICT_GROUPS).toEqual(reference)
  expect(markets.dubai.districtGroups).toEqual(reference)
})
