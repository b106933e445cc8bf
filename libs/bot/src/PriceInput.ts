import { Either } from "effect"

export type PriceInputError =
  | { readonly _tag: "NotANumber" }
  | { readonly _tag: "Negative" }
  | { readonly _tag: "TooLarge"; readonly max: number }

/**
 * A monthly price as a user types it: whole digits, optionally grouped in thousands with spaces,
 * commas, dots or apostrophes (`8000`, `12 500`, `12,500`, `1'000'000`). Decimals, words and
 * ranges are not prices. At most `max` (anything above is a typo).
 */
export const parsePrice = (text: string, max: number): Either.Either<number, PriceInputError> => {
  const trimmed = text.trim()
  const negative = /^[-−–]\s*\d/.test(trimmed)
  const digits = trimmed.replace(/^[-−–]\s*/, "")
  const grouped = /^\d{1,3}(?:[ \u00a0\u202f,.']\d{3})+$/.test(digits)
  if (!grouped && !/^\d+$/.test(digits)) return Either.left({ _tag: "NotANumber" })
  if (negative) return Either.left({ _tag: "Negative" })
  const value = Number(digits.replace(/\D/g, ""))
  if (!Number.isSafeInteger(value) || value > max) return Either.left({ _tag: "TooLarge", max })
  return Either.right(value)
}
