import { Data, Either, ParseResult, Schema } from "effect"

/** How often the rent is paid, as the site states it. */
export const RentPeriod = Schema.Literal("monthly", "yearly", "weekly", "daily")
export type RentPeriod = typeof RentPeriod.Type

/** Months in one rent period: the factor that turns a period's price into a monthly one. */
const MONTHLY_FACTOR: Record<RentPeriod, number> = {
  monthly: 1,
  yearly: 1 / 12,
  weekly: 4.345,
  daily: 30,
}

/** The monthly price for `price` per `period`, rounded to a whole unit of the currency. */
export const monthlyPrice = (price: number, period: RentPeriod): number =>
  Math.round(price * MONTHLY_FACTOR[period])

const AbsoluteUrl = Schema.String.pipe(
  Schema.filter((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
    message: () => "is not an absolute http(s) URL",
  }),
)
const Text = Schema.NullOr(Schema.NonEmptyTrimmedString)

/**
 * A listing as every adapter normalises it, before it is stored. Prices are whole units of
 * `currency`; `price` is per month, `priceOriginal` per `rentPeriod`. Unknown values are null,
 * never guessed: a filter on rooms never matches a listing whose room count is unknown.
 */
export const Listing = Schema.Struct({
  source: Schema.NonEmptyTrimmedString,
  externalId: Schema.NonEmptyTrimmedString,
  market: Schema.NonEmptyTrimmedString,
  url: AbsoluteUrl,
  title: Schema.NonEmptyTrimmedString,
  description: Text,
  price: Schema.Int.pipe(Schema.positive({ message: () => "price must be a positive number" })),
  priceOriginal: Schema.Int.pipe(Schema.positive()),
  rentPeriod: RentPeriod,
  currency: Schema.String.pipe(
    Schema.pattern(/^[A-Z]{3}$/, { message: () => "currency must be an ISO code like AED" }),
  ),
  /** 0 = studio. */
  rooms: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 100))),
  baths: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 100))),
  areaM2: Schema.NullOr(Schema.Number.pipe(Schema.positive(), Schema.lessThan(1_000_000))),
  neighbourhood: Text,
  districtGroups: Schema.Array(Schema.NonEmptyTrimmedString),
  address: Text,
  furnished: Schema.NullOr(Schema.Boolean),
  photos: Schema.Array(AbsoluteUrl),
  agentName: Text,
  agencyName: Text,
  agentPhone: Text,
  permitNumber: Text,
  postedAt: Schema.NullOr(Schema.ValidDateFromSelf),
  /** The site's own words for when it was posted ("4 дня назад"), when it gives no timestamp. */
  postedText: Text,
  /** What the adapter kept from the site's data (stored as jsonb, for support and re-parsing). */
  raw: Schema.Unknown,
})
export type Listing = typeof Listing.Type

/** A card or hit that could not be turned into a listing, and why. */
export interface InvalidCard {
  /** Position on the page (0-based). */
  readonly index: number
  /** The site's id of the card, when it could be read. */
  readonly id: string | null
  readonly reason: string
}

/**
 * What one page of a source says. Exactly one of: listings (possibly none valid, with the
 * invalid cards and why), empty (the site says nothing matches), or blocked (a bot challenge,
 * captcha or IP block). A block is never "0 listings" and an empty page is never a block.
 */
export type PageResult = Data.TaggedEnum<{
  Listings: {
    readonly listings: ReadonlyArray<Listing>
    readonly invalid: ReadonlyArray<InvalidCard>
    /** Cards deliberately left out (sale ads on a rentals source, offices): not errors. */
    readonly skipped: number
    /** Why they were left out: reason -> how many cards (absent when the adapter gives none). */
    readonly skippedReasons?: Readonly<Record<string, number>>
  }
  Empty: {}
  Blocked: { readonly reason: string }
}>
export const PageResult = Data.taggedEnum<PageResult>()

/**
 * A page the parser does not recognise (no result list, no empty or block marker; an API answer
 * of another shape): no listings and one invalid entry saying why, so that ops see it.
 */
export const unrecognisedPage = (reason: string): PageResult =>
  PageResult.Listings({ listings: [], invalid: [{ index: 0, id: null, reason }], skipped: 0 })

/** A schema error as `path: message; ...` (the path left out where it is empty). */
export const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) =>
      issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`,
    )
    .join("; ")

const decodeListing = Schema.decodeUnknownEither(Listing, {
  errors: "all",
  onExcessProperty: "error",
})

/** A card's fields as an adapter read them, or the reason it could not read them. */
export type Candidate =
  | { readonly ok: true; readonly id: string | null; readonly value: unknown }
  | { readonly ok: false; readonly id: string | null; readonly reason: string }

/** A card left out on purpose (a sale ad on a rentals source, a project), and why. */
export interface SkippedCard {
  readonly skip: string
  readonly id: string | null
}

/**
 * Validates every candidate with the `Listing` schema. Invalid ones are reported with the
 * failing fields; a card repeated on the page (same id) is kept once. Skipped cards are counted
 * by reason (plus `skipped` more counted by the caller without a reason).
 */
export const validateCandidates = (
  candidates: ReadonlyArray<Candidate | SkippedCard>,
  skipped = 0,
): PageResult => {
  const listings: Array<Listing> = []
  const invalid: Array<InvalidCard> = []
  const seen = new Set<string>()
  const reasons: Record<string, number> = {}
  let skips = 0
  candidates.forEach((candidate, index) => {
    if ("skip" in candidate) {
      skips++
      reasons[candidate.skip] = (reasons[candidate.skip] ?? 0) + 1
      return
    }
    if (!candidate.ok) {
      invalid.push({ index, id: candidate.id, reason: candidate.reason })
      return
    }
    const decoded = decodeListing(candidate.value)
    if (Either.isLeft(decoded)) {
      invalid.push({ index, id: candidate.id, reason: formatIssues(decoded.left) })
      return
    }
    if (seen.has(decoded.right.externalId)) return
    seen.add(decoded.right.externalId)
    listings.push(decoded.right)
  })
  return PageResult.Listings({
    listings,
    invalid,
    skipped: skipped + skips,
    ...(skips > 0 ? { skippedReasons: reasons } : {}),
  })
}

/** Collapses runs of whitespace (including non-breaking spaces) and trims. */
export const cleanText = (text: string | null | undefined): string | null => {
  if (text === null || text === undefined) return null
  const cleaned = text.replace(/\s+/g, " ").trim()
  return cleaned.length === 0 ? null : cleaned
}
