import { expect, test } from "bun:test"
import { parseLocaleNumber } from "./LocaleNumber.ts"

test.each([
  ["24 000 $", ".", 24000],
  ["1.600 €", ",", 1600],
  ["1.250,50 €", ",", 1250.5],
  ["48,3 м²", ",", 48.3],
  ["Площа 44.5/18/21", ".", 44.5],
  ["27\u00a0000\u00a0₽ в месяц", ".", 27000],
  ["AED 1,250,000", ".", 1250000],
  ["CHF 1'250.50", ".", 1250.5],
  ["285.000 € 319.000 €", ",", 285000],
  ["2 Zi.", ".", 2],
] as const)("%p with decimal %p is %p", (text, decimal, expected) => {
  expect(parseLocaleNumber(text, decimal)).toBe(expected)
})

test("no digits: null", () => {
  expect(parseLocaleNumber("auf Anfrage")).toBeNull()
})
