import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { loadMarkets, MarketError, Markets } from "./Markets.ts"

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flatwatch-markets-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const good = {
  id: "vienna",
  names: { ru: "Вена", en: "Vienna" },
  currency: "EUR",
  timeZone: "Europe/Vienna",
  pricePicks: [600, 900, 1200],
  maxPrice: 50_000,
  districtGroups: [{ name: "Innere Stadt", neighbourhoods: ["Innere Stadt", "1010 Wien"] }],
}

/** Writes `content` as `<name>` in a fresh folder and returns the folder. */
const folder = async (files: Record<string, unknown>): Promise<string> => {
  const sub = mkdtempSync(join(dir, "case-"))
  for (const [name, content] of Object.entries(files)) {
    await Bun.write(
      join(sub, name),
      typeof content === "string" ? content : JSON.stringify(content),
    )
  }
  return sub
}

/** The one line start-up would print for a folder holding these files. */
const problem = async (files: Record<string, unknown>): Promise<string> => {
  const result = await Effect.runPromise(Effect.either(loadMarkets({ dir: await folder(files) })))
  if (Either.isRight(result)) throw new Error("expected the folder to be refused")
  expect(result.left).toBeInstanceOf(MarketError)
  return result.left.message
}

describe("loading market files", () => {
  test("an operator's folder adds its markets to the shipped ones; a shipped id is replaced", async () => {
    const own = await folder({
      "vienna.json": good,
      "dubai.json": { ...good, id: "dubai", names: { ru: "Дубай", en: "Dubai (own)" } },
    })
    const set = await Effect.runPromise(loadMarkets({ dir: own }))
    expect([...set.ids].sort()).toEqual(["berlin", "dubai", "kyiv", "moscow", "vienna"])
    expect(set.get("dubai")?.names.en).toBe("Dubai (own)")
    expect(set.get("vienna")?.file).toBe(join(own, "vienna.json"))
  })

  test("each mistake is one line naming the file, the field and why", async () => {
    const at = (name: string) => expect.stringContaining(`${name}: `)
    expect(await problem({ "a.json": { ...good, currency: "euro" } })).toEqual(at("a.json"))
    expect(await problem({ "a.json": { ...good, currency: "euro" } })).toEndWith(
      "a.json: currency: must be an ISO currency code like EUR",
    )
    expect(await problem({ "b.json": { ...good, timeZone: "Mars/Olympus" } })).toEndWith(
      "b.json: timeZone: must be an IANA time zone such as Asia/Dubai",
    )
    expect(await problem({ "c.json": { ...good, pricePicks: [900, 600] } })).toEndWith(
      "c.json: pricePicks: must be ascending",
    )
    expect(await problem({ "d.json": { ...good, maxPrice: 800 } })).toEndWith(
      "d.json: pricePicks: must not exceed maxPrice (800)",
    )
    expect(
      await problem({
        "e.json": { ...good, districtGroups: [{ name: "Innere Stadt", neighbourhoods: [] }] },
      }),
    ).toEndWith("e.json: districtGroups.0.neighbourhoods: must name at least one neighbourhood")
    expect(await problem({ "f.json": { ...good, id: "Vienna!" } })).toEndWith(
      "f.json: id: must be lowercase letters, digits, - or _ (starting with a letter)",
    )
    expect(await problem({ "g.json": { ...good, district: [] } })).toContain(
      "g.json: district: is unexpected",
    )
    expect(await problem({ "h.json": "{ not json" })).toContain("h.json: is not valid JSON")
    const { names: _, ...nameless } = good
    expect(await problem({ "i.json": nameless })).toEndWith("i.json: names: is missing")
  })

  test("a group listed twice, or two files with one id, are refused", async () => {
    const group = { name: "Innere Stadt", neighbourhoods: ["Innere Stadt"] }
    expect(await problem({ "a.json": { ...good, districtGroups: [group, group] } })).toEndWith(
      'a.json: districtGroups: the group "Innere Stadt" is listed twice',
    )
    expect(await problem({ "a.json": good, "b.json": good })).toEndWith(
      'b.json: id: "vienna" is already the id of a.json',
    )
  })

  test("a MARKETS_DIR that cannot be read names the variable", async () => {
    const missing = join(dir, "nowhere")
    const result = await Effect.runPromise(
      Effect.either(
        Layer.build(Markets.layerConfig).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MARKETS_DIR", missing]]))),
        ),
      ),
    )
    expect(Either.isLeft(result) && result.left.message).toStartWith(
      `MARKETS_DIR: the folder ${missing} cannot be read`,
    )
  })
})
