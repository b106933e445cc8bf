import { expect, test } from "bun:test"
import { Either } from "effect"
import { parsePrice } from "./PriceInput.ts"

const MAX = 1_000_000

test("typed prices people write", () => {
  for (const [text, value] of [
    ["8000", 8_000],
    [" 12 500 ", 12_500],
    ["12,500", 12_500],
    ["12.500", 12_500],
    ["1'000'000", 1_000_000],
    ["12\u00a0500", 12_500],
    ["0", 0],
  ] as const) {
    expect(parsePrice(text, MAX)).toEqual(Either.right(value))
  }
})

test("what is not a price", () => {
  for (const text of [
    "",
    "abc",
    "12.5",
    "12,50",
    "1 2 3",
    "5k",
    "10-20",
    "1e6",
    "８０００",
    "$8000",
  ]) {
    expect(parsePrice(text, MAX)).toEqual(Either.left({ _tag: "NotANumber" }))
  }
  expect(parsePrice("-500", MAX)).toEqual(Either.left({ _tag: "Negative" }))
  expect(parsePrice("− 1 000", MAX)).toEqual(Either.left({ _tag: "Negative" }))
  expect(parsePrice("1000001", MAX)).toEqual(Either.left({ _tag: "TooLarge", max: MAX }))
  expect(parsePrice("99999999999999999999", MAX)).toEqual(
    Either.left({ _tag: "TooLarge", max: MAX }),
  )
})
