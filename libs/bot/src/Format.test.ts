import { expect, test } from "bun:test"
import { formatNumber, languageFromTelegram, plural } from "./Format.ts"

test("numbers are written the way each language writes them", () => {
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
