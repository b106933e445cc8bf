import { Schema } from "effect"

/** A display name in each language the bot speaks. */
export const DisplayNames = Schema.Struct({
  ru: Schema.NonEmptyTrimmedString,
  en: Schema.NonEmptyTrimmedString,
})
export type DisplayNames = typeof DisplayNames.Type

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** One district group a user can pick, and the neighbourhood names listings of it carry. */
export const DistrictGroup = Schema.Struct({
  /** Stored verbatim in `filters.district_groups` and `listings.district_groups`. */
  name: Schema.NonEmptyTrimmedString.pipe(
    Schema.maxLength(64, { message: () => "must be at most 64 characters (it is a button)" }),
  ),
  /** What the bot shows; `name` when absent. */
  names: Schema.optional(DisplayNames),
  /** Neighbourhood names as sites write them; one may sit in several groups. */
  neighbourhoods: Schema.Array(Schema.NonEmptyTrimmedString).pipe(
    Schema.minItems(1, { message: () => "must name at least one neighbourhood" }),
  ),
})
export type DistrictGroup = typeof DistrictGroup.Type

const Price = Schema.Int.pipe(Schema.positive({ message: () => "must be a positive whole number" }))

/**
 * A market file (`markets/<id>.json`) as an operator writes it. Checked once at start-up; a
 * mistake stops start-up with one line naming the file, the field and why.
 */
export const MarketFile = Schema.Struct({
  /** Sources name it (`market`), filters and listings store it. */
  id: Schema.String.pipe(
    Schema.pattern(/^[a-z][a-z0-9_-]{0,31}$/, {
      message: () => "must be lowercase letters, digits, - or _ (starting with a letter)",
    }),
  ),
  names: DisplayNames,
  /** ISO code of the monthly prices of its listings and filters. */
  currency: Schema.String.pipe(
    Schema.pattern(/^[A-Z]{3}$/, { message: () => "must be an ISO currency code like EUR" }),
  ),
  /** IANA zone of the city (e.g. `Europe/Berlin`). */
  timeZone: Schema.String.pipe(
    Schema.filter((zone) => isTimeZone(zone) || "must be an IANA time zone such as Asia/Dubai"),
  ),
  /** Quick picks for the monthly price bounds, ascending. */
  pricePicks: Schema.NonEmptyArray(Price).pipe(
    Schema.maxItems(16, { message: () => "must be at most 16 picks (they are buttons)" }),
    Schema.filter(
      (picks) => picks.every((p, i) => i === 0 || p > (picks[i - 1] ?? 0)) || "must be ascending",
    ),
  ),
  /** Anything above this per month is a typo, not a flat. */
  maxPrice: Price,
  /** In the order the bot shows them; may be empty (then users search the whole city). */
  districtGroups: Schema.Array(DistrictGroup).pipe(
    // Each is a button of one message; Telegram allows 100 buttons in all.
    Schema.maxItems(60, { message: () => "must be at most 60 groups (they are buttons)" }),
    Schema.filter((groups) => {
      const names = groups.map((g) => g.name)
      const twice = names.find((n, i) => names.indexOf(n) !== i)
      return twice === undefined || `the group "${twice}" is listed twice`
    }),
  ),
}).pipe(
  Schema.filter((m) =>
    m.pricePicks.every((p) => p <= m.maxPrice)
      ? true
      : { path: ["pricePicks"], message: `must not exceed maxPrice (${m.maxPrice})` },
  ),
)
export type MarketFile = typeof MarketFile.Type

/** A loaded market: its file's content, where it came from, and its neighbourhood index. */
export interface Market extends MarketFile {
  /** The file it was read from (for messages). */
  readonly file: string
  /** Normalised neighbourhood name -> the groups that cover it, in file order. */
  readonly groupsByNeighbourhood: ReadonlyMap<string, ReadonlyArray<string>>
}

/**
 * How names are compared: case-insensitively, whitespace collapsed, `ё` as `е` and the various
 * Unicode hyphens as `-` (sites write "Хорошёво-Мнёвники" and "Хорошево‑Мневники" alike).
 */
export const normaliseName = (name: string): string =>
  name
    .normalize("NFC")
    .toLowerCase()
    .replaceAll("ё", "е")
    .replace(/[\u2010-\u2015\u2212]/g, "-")
    .replace(/\s+/g, " ")
    .trim()

/** A market from a decoded file. */
export const makeMarket = (content: MarketFile, file: string): Market => {
  const index = new Map<string, Array<string>>()
  for (const group of content.districtGroups) {
    for (const neighbourhood of group.neighbourhoods) {
      const key = normaliseName(neighbourhood)
      const groups = index.get(key) ?? []
      if (!groups.includes(group.name)) groups.push(group.name)
      index.set(key, groups)
    }
  }
  return { ...content, file, groupsByNeighbourhood: index }
}

/** Parts of a location string: the whole, and each part between commas or `›`. */
const partsOf = (text: string): ReadonlyArray<string> => [text, ...text.split(/[,›]/)]

/**
 * The district groups of a listing located by `names` (its neighbourhood, its address, a
 * location path such as "Lagoon Views, Damac Lagoons, Dubai" or "UAE › Dubai › Dubai Marina"):
 * every comma- or `›`-separated part is looked up in the market's neighbourhoods, ignoring case.
 * Sorted, without repeats; empty when no part is in any group (or no names are given).
 */
export const groupsOf = (
  market: Market,
  names: ReadonlyArray<string | null | undefined>,
): ReadonlyArray<string> => {
  const groups = new Set<string>()
  for (const name of names) {
    if (name === null || name === undefined) continue
    for (const part of partsOf(name)) {
      for (const group of market.groupsByNeighbourhood.get(normaliseName(part)) ?? []) {
        groups.add(group)
      }
    }
  }
  return [...groups].sort()
}

/** A group's name as a user of `lang` should read it. */
export const groupLabel = (market: Market, group: string, lang: keyof DisplayNames): string =>
  market.districtGroups.find((g) => g.name === group)?.names?.[lang] ?? group
