import { expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { resolve } from "node:path"
import { DUBAI_DISTRICT_GROUPS, markets } from "./Markets.ts"

const REFERENCE = resolve(
  import.meta.dir,
  "../../..",
  "../shared/reference/dubai-district-groups.json",
)

// Filters store the group names verbatim and listings carry the same names: one letter off and
// a search never matches.
// Without ../shared beside the clone (a fresh clone elsewhere) there is nothing to compare with;
// under CI=true the folder must be there, so the test runs and fails naming the file.
const ci = (process.env.CI ?? "") !== "" && !/^(0|false)$/i.test(process.env.CI ?? "")
test.skipIf(!ci && !existsSync(REFERENCE))(
  "the Dubai district groups are exactly the 19 of the shared reference, in its order",
  () => {
    const reference = Object.keys(JSON.parse(readFileSync(REFERENCE, "utf8")) as object)
    expect(reference).toHaveLength(19)
    expect<ReadonlyArray<string>>(DUBAI_DISTRICT_GROUPS).toEqual(reference)
    expect(markets.dubai.districtGroups).toEqual(reference)
  },
)
