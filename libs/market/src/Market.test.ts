import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { groupLabel, groupsOf, type Market, type MarketFile, makeMarket } from "./Market.ts"
import { loadMarkets } from "./Markets.ts"

const file: MarketFile = {
  id: "testville",
  names: { ru: "Тествиль", en: "Testville" },
  currency: "EUR",
  timeZone: "Europe/Berlin",
  pricePicks: [500, 1000],
  maxPrice: 10_000,
  districtGroups: [
    { name: "North", names: { ru: "Север", en: "North" }, neighbourhoods: ["Harbour", "Old Town"] },
    { name: "Centre", neighbourhoods: ["Old Town", "Market Square", "Хорошёво-Мнёвники"] },
    { name: "South", neighbourhoods: ["Lagoon Views"] },
  ],
}
const market: Market = makeMarket(file, "testville.json")

describe("groupsOf", () => {
  test("a neighbourhood in several groups maps to all of them, sorted", () => {
    expect(groupsOf(market, ["Old Town"])).toEqual(["Centre", "North"])
  })

  test("every comma- or ›-separated part of an address or location path is tried", () => {
    expect(groupsOf(market, [null, "Lagoon Views, Damac Lagoons, Dubai"])).toEqual(["South"])
    expect(groupsOf(market, ["Country › City › Harbour › Tower 2"])).toEqual(["North"])
    expect(groupsOf(market, ["Market Square", "12 High Street, Harbour"])).toEqual([
      "Centre",
      "North",
    ])
  })

  test("case, spacing, ё and Unicode hyphens do not matter", () => {
    expect(groupsOf(market, ["  market   SQUARE "])).toEqual(["Centre"])
    expect(groupsOf(market, ["Хорошево\u2011Мневники"])).toEqual(["Centre"])
  })

  test("unknown names, nulls and no names map to no group", () => {
    expect(groupsOf(market, ["Atlantis", "Harbourside"])).toEqual([])
    expect(groupsOf(market, [null, undefined])).toEqual([])
    expect(groupsOf(market, [])).toEqual([])
  })

  test("a group's label is its display name in the user's language, else its name", () => {
    expect(groupLabel(market, "North", "ru")).toBe("Север")
    expect(groupLabel(market, "Centre", "ru")).toBe("Centre")
  })
})

describe("the shipped markets", () => {
  const shipped = Effect.runPromise(loadMarkets())

  test("are Dubai, Moscow, Berlin and Kyiv, each with groups and picks in its currency", async () => {
    const set = await shipped
    expect([...set.ids].sort()).toEqual(["berlin", "dubai", "kyiv", "moscow"])
    expect(set.all.map((m) => [m.id, m.currency, m.timeZone])).toEqual(
      expect.arrayContaining([
        ["dubai", "AED", "Asia/Dubai"],
        ["moscow", "RUB", "Europe/Moscow"],
        ["berlin", "EUR", "Europe/Berlin"],
        ["kyiv", "UAH", "Europe/Kyiv"],
      ]),
    )
    for (const m of set.all) expect(m.districtGroups.length).toBeGreaterThan(9)
  })

  test("map real location strings to their groups", async () => {
    const set = await shipped
    const of = (id: string, names: Array<string>) => {
      const m = set.get(id)
      if (m === undefined) throw new Error(`no market ${id}`)
      return groupsOf(m, names)
    }
    // Property Finder's location.full_name and Bayut's location levels.
    expect(of("dubai", ["Jumeirah Lake Towers (JLT), Dubai"])).toEqual(["Dubai Marina", "JLT"])
    expect(of("dubai", ["Za'abeel"])).toEqual(["Citywalk", "Downtown", "ZAABEL + DHCC"])
    expect(of("dubai", ["Dubai Hills Estate"])).toEqual([])
    expect(of("berlin", ["Prenzlauer Berg"])).toEqual(["Pankow"])
    expect(of("berlin", ["Weissensee"])).toEqual(["Pankow"])
    expect(of("moscow", ["Хамовники"])).toEqual(["ЦАО"])
    expect(of("moscow", ["Тропарево-Никулино"])).toEqual(["ЗАО"])
    expect(of("kyiv", ["Позняки"])).toEqual(["Дарницький"])
  })
})
