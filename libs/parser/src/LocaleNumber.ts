/**
 * Reads the first number in `text` as a site writes it: digits grouped by spaces (also
 * non-breaking and thin ones), dots, commas or apostrophes, with `decimal` as the decimal
 * separator ("1.600 €" with `,` is 1600; "48,3 м²" with `,` is 48.3; "24 000 $" is 24000).
 * Returns null when there is no number.
 */
export const parseLocaleNumber = (text: string, decimal: "," | "." = "."): number | null => {
  const match = /\d(?:[\d\s'’.,]*\d)?/u.exec(text)
  if (match === null) return null
  const token = match[0]
  const grouping = decimal === "," ? /[\s'’.]/gu : /[\s'’,]/gu
  const normalised = token.replace(grouping, "").replace(decimal, ".")
  // A second decimal separator means the grouping was not what the caller said: take the integer.
  const value = Number(
    normalised.split(".").length > 2 ? normalised.replace(/\./g, "") : normalised,
  )
  return Number.isFinite(value) ? value : null
}
