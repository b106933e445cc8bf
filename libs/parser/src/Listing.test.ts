import { describe, expect, test } from "bun:test"
import { type Candidate, cleanText, monthlyPrice, validateCandidates } from "./Listing.ts"

const valid = (id: string, extra: Record<string, unknown> = {}) => ({
  source: "test",
  externalId: id,
  market: "testville",
  url: `https://example.test/${id}`,
  title: `Flat ${id}`,
  description: null,
  price: 1000,
  priceOriginal: 1000,
  rentPeriod: "monthly",
  currency: "EUR",
  rooms: 2,
  baths: null,
  areaM2: 50,
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
  ...extra,
})

describe("monthlyPrice", () => {
  test("yearly / 12, weekly x 4.345, daily x 30, rounded", () => {
    expect(monthlyPrice(85000, "yearly")).toBe(7083)
    expect(monthlyPrice(3000, "weekly")).toBe(13035)
    expect(monthlyPrice(400, "daily")).toBe(12000)
    expect(monthlyPrice(12000, "monthly")).toBe(12000)
  })
})

describe("validateCandidates", () => {
  test("valid candidates become listings; a repeated id is kept once", () => {
    const candidates: Array<Candidate> = [
      { ok: true, id: "1", value: valid("1") },
      { ok: true, id: "2", value: valid("2") },
      { ok: true, id: "1", value: valid("1", { title: "Again" }) },
    ]
    const result = validateCandidates(candidates)
    expect(result._tag).toBe("Listings")
    if (result._tag !== "Listings") return
    expect(result.listings.map((l) => [l.externalId, l.title])).toEqual([
      ["1", "Flat 1"],
      ["2", "Flat 2"],
    ])
    expect(result.invalid).toEqual([])
  })

  test("an invalid card is reported with its position, id and every failing field", () => {
    const result = validateCandidates([
      { ok: true, id: "1", value: valid("1") },
      { ok: true, id: "2", value: valid("2", { price: 0, url: "/relative", currency: "€" }) },
      { ok: false, id: null, reason: "no rent period" },
    ])
    if (result._tag !== "Listings") throw new Error("expected listings")
    expect(result.listings).toHaveLength(1)
    expect(result.invalid).toHaveLength(2)
    const [bad, unread] = result.invalid
    expect(bad?.index).toBe(1)
    expect(bad?.id).toBe("2")
    expect(bad?.reason).toContain("price: price must be a positive number")
    expect(bad?.reason).toContain("url: is not an absolute http(s) URL")
    expect(bad?.reason).toContain("currency: currency must be an ISO code")
    expect(unread).toEqual({ index: 2, id: null, reason: "no rent period" })
  })

  test("unknown fields are rejected, so adapters cannot drift from the schema", () => {
    const result = validateCandidates([{ ok: true, id: "1", value: valid("1", { colour: "red" }) }])
    if (result._tag !== "Listings") throw new Error("expected listings")
    expect(result.listings).toHaveLength(0)
    expect(result.invalid[0]?.reason).toContain("colour")
  })
})

test("cleanText collapses whitespace including non-breaking spaces", () => {
  expect(cleanText("  45\u00a0000 ₽ \n в месяц ")).toBe("45 000 ₽ в месяц")
  expect(cleanText(" \n ")).toBeNull()
  expect(cleanText(null)).toBeNull()
})
