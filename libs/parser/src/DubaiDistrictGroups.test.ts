import { describe, expect, test } from "bun:test"
import { resolve } from "node:path"
import {
  DUBAI_DISTRICT_GROUP_NAMES,
  DUBAI_DISTRICT_GROUPS,
  dubaiDistrictGroupsOf,
} from "./DubaiDistrictGroups.ts"
import { describeShared, SHARED_REFERENCE_DIR } from "./SharedFixtures.ts"

const reference = resolve(SHARED_REFERENCE_DIR, "dubai-district-groups.json")

describe("Dubai district groups", () => {
  test("19 groups", () => {
    expect(DUBAI_DISTRICT_GROUP_NAMES).toHaveLength(19)
  })

  test("a neighbourhood in several groups maps to all of them, sorted", () => {
    expect(dubaiDistrictGroupsOf(["Jumeirah Lake Towers (JLT)"])).toEqual(["Dubai Marina", "JLT"])
    expect(dubaiDistrictGroupsOf(["Za'abeel"])).toEqual(["Citywalk", "Downtown", "ZAABEL + DHCC"])
  })

  test("names match case-insensitively; unknown names map to nothing", () => {
    expect(dubaiDistrictGroupsOf(["the lagoons", "dubai creek harbour"])).toEqual(["Creek Harbour"])
    expect(dubaiDistrictGroupsOf(["Dubai Hills Estate"])).toEqual([])
    expect(dubaiDistrictGroupsOf([])).toEqual([])
  })
})

describeShared("Dubai district groups (the shared reference)", () => {
  test("the module equals the reference file", async () => {
    expect(DUBAI_DISTRICT_GROUPS).toEqual(await Bun.file(reference).json())
  })
})
