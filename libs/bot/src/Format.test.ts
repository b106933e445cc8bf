import { expect, test } from "bun:test"
import {
  escapeHtml,
  formatNumber,
  formatPrice,
  languageFromTelegram,
  plural,
  truncate,
} from "./Format.ts"

test("prices are written the way each language writes them", () => {
  expect(formatPrice("ru", 12_500, "AED")).toBe("12\u00a0500\u00a0AED")
  expect(formatPrice("en", 12_500, "AED")).toBe("AED\u00a012,500")
  expect(formatNumber("ru", 1_000_000)).toBe("1\u00a0000\u00a0000")
  expect(formatNumber("en", 1_000_000)).toBe("1,000,000")
  expect(formatNumber("en", 950)).toBe("950")
})

test("Russian for ru and its regional variants, English for everything else", () => {
  expect(languageFromTelegram("ru")).toBe("ru")
  expect(languageFromTelegram("ru-RU")).toBe("ru")
  expect(languageFromTelegram("uk")).toBe("en")
  expect(languageFromTelegram("rus")).toBe("en")
  expect(languageFromTelegram(undefined)).toBe("en")
})

test("plural forms", () => {
  const forms = { one: "объявление", few: "объявления", many: "объявлений", other: "объявления" }
  expect([1, 2, 5, 11, 21, 22, 0].map((n) => plural("ru", n, forms))).toEqual([
    "объявление",
    "объявления",
    "объявлений",
    "объявлений",
    "объявление",
    "объявления",
    "объявлений",
  ])
  expect(plural("en", 1, { one: "listing", other: "listings" })).toBe("listing")
  expect(plural("en", 0, { one: "listing", other: "listings" })).toBe("listings")
})

test("HTML is escaped", () => {
  expect(escapeHtml(`<b>"A" & B</b>`)).toBe("&lt;b&gt;&quot;A&quot; &amp; B&lt;/b&gt;")
})

test("truncate: whole characters only, and the escaped text within the limit", () => {
  expect(truncate("short", 10)).toBe("short")
  expect(truncate("abcdefghij", 5)).toBe("abcd…")
  // An emoji is two UTF-16 units: it is kept whole or dropped whole.
  const cut = truncate(`${"x".repeat(38)}🏠🏠`, 40)
  expect(cut).toBe(`${"x".repeat(38)}…`)
  expect(cut.isWellFormed()).toBe(true)
  expect(truncate("🏠🏠🏠", 5)).toBe("🏠🏠…")
  // `&` escapes to five characters: what counts is the escaped length.
  const ampersands = truncate("&".repeat(100), 51)
  expect(ampersands).toBe(`${"&".repeat(10)}…`)
  expect(escapeHtml(ampersands).length).toBeLessThanOrEqual(51)
})
