import { Cron } from "croner"
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import { Window } from "happy-dom"
import { FetchMode } from "./FetchMode.ts"
import { assertRewriterSelector } from "./HtmlDocument.ts"
import { RentPeriod } from "./Listing.ts"

const validCss = (selector: string): boolean => {
  const window = new Window()
  try {
    window.document.createElement("div").querySelector(selector)
    return true
  } catch {
    return false
  } finally {
    void window.happyDOM.close()
  }
}

/** A CSS selector happy-dom accepts. */
const Selector = Schema.NonEmptyTrimmedString.pipe(
  Schema.filter((s) => validCss(s) || "is not a valid CSS selector"),
)

/** A selector that Bun's HTMLRewriter can also match while streaming (no `+`, `~`, `:scope`). */
const StreamSelector = Selector.pipe(
  Schema.filter((s) => {
    try {
      assertRewriterSelector(s)
      return true
    } catch (error) {
      return `cannot be matched while streaming (${error instanceof Error ? error.message : String(error)}); use tags, classes, ids, attributes, descendant or child combinators`
    }
  }),
)

const Regex = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      new RegExp(s, "u")
      return true
    } catch (error) {
      return `is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`
    }
  }),
)

/**
 * How one field is read from a card: the text (or `attr`, e.g. `["data-src", "src"]` for lazy
 * images) of the first element matching
 * `selector` inside the card (the card itself when omitted), then `regex` (its first capture
 * group, or the whole match), then `type`: `text` (whitespace collapsed), `number` (locale
 * separators, `decimal` says which is the decimal point), `integer` (a number rounded down),
 * `url` (made absolute against the page URL).
 */
export const FieldSpec = Schema.Struct({
  selector: Schema.optional(Selector),
  /** An attribute, or several: the first one present and not blank is read. */
  attr: Schema.optional(
    Schema.Union(Schema.NonEmptyTrimmedString, Schema.NonEmptyArray(Schema.NonEmptyTrimmedString)),
  ),
  regex: Schema.optional(Regex),
  type: Schema.optionalWith(Schema.Literal("text", "number", "integer", "url"), {
    default: () => "text" as const,
  }),
  decimal: Schema.optionalWith(Schema.Literal(",", "."), { default: () => "." as const }),
})
export type FieldSpec = typeof FieldSpec.Type

/** An element that marks a kind of page, with an optional text it must contain. */
export const MarkerSpec = Schema.Struct({
  selector: StreamSelector,
  text: Schema.optional(Schema.NonEmptyString),
})

const HttpUrl = Schema.NonEmptyTrimmedString.pipe(
  Schema.filter((s) => {
    const probe = s.replaceAll("{page}", "1")
    return (
      (URL.canParse(probe) && /^https?:$/.test(new URL(probe).protocol)) || "is not an http(s) URL"
    )
  }),
)

const CronPattern = Schema.NonEmptyTrimmedString.pipe(
  Schema.filter((s) => {
    try {
      new Cron(s, { paused: true }).stop()
      return true
    } catch (error) {
      return `is not a cron pattern: ${error instanceof Error ? error.message : String(error)}`
    }
  }),
)

/**
 * A config-driven HTML source, as ops write it in a JSON file (see `sources/*.json`). Every
 * selector is checked when the file is loaded; a mistake fails start-up naming the field.
 */
export const HtmlSourceConfig = Schema.Struct({
  /** The source id (`source_state.source`, metrics): lowercase letters, digits, `-`, `_`. */
  id: Schema.String.pipe(
    Schema.pattern(/^[a-z][a-z0-9_-]{0,31}$/, {
      message: () => "must be lowercase letters, digits, - or _ (starting with a letter)",
    }),
  ),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Filters of this market receive its listings. */
  market: Schema.NonEmptyTrimmedString,
  currency: Schema.String.pipe(
    Schema.pattern(/^[A-Z]{3}$/, { message: () => "must be an ISO currency code like EUR" }),
  ),
  /** How the site's prices are meant; they are normalised to monthly. */
  rentPeriod: Schema.optionalWith(RentPeriod, { default: () => "monthly" as const }),
  cron: Schema.optionalWith(CronPattern, { default: () => "*/5 * * * *" }),
  /** Search URLs, newest first; `{page}` marks where the page number goes. */
  urls: Schema.NonEmptyArray(HttpUrl),
  pagination: Schema.optionalWith(
    Schema.Struct({
      param: Schema.optional(Schema.NonEmptyTrimmedString),
      first: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 1 }),
      maxPages: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 50)), { default: () => 3 }),
    }),
    { default: () => ({ first: 1, maxPages: 3 }) },
  ),
  /** The result list: only what is inside it is parsed. */
  list: StreamSelector,
  /** One listing card, inside `list`. */
  card: Selector,
  fields: Schema.Struct({
    id: FieldSpec,
    url: FieldSpec,
    title: FieldSpec,
    price: FieldSpec,
    rooms: Schema.optional(FieldSpec),
    baths: Schema.optional(FieldSpec),
    areaM2: Schema.optional(FieldSpec),
    address: Schema.optional(FieldSpec),
    neighbourhood: Schema.optional(FieldSpec),
    description: Schema.optional(FieldSpec),
    photo: Schema.optional(FieldSpec),
    agentName: Schema.optional(FieldSpec),
    postedText: Schema.optional(FieldSpec),
    /** An ISO date or date-time (e.g. a `<time datetime>`). */
    postedAt: Schema.optional(FieldSpec),
  }),
  /** The site's "nothing found" page. */
  empty: Schema.optionalWith(Schema.Array(MarkerSpec), { default: () => [] }),
  /** Captcha, bot-check or IP-block pages. */
  blocked: Schema.optionalWith(Schema.Array(MarkerSpec), { default: () => [] }),
  /** Base for relative links when the page URL is unknown (the ops command). */
  siteUrl: Schema.optional(HttpUrl),
  acceptLanguage: Schema.optional(Schema.NonEmptyTrimmedString),
  /** Least seconds between two requests to the site. */
  politenessSeconds: Schema.optional(Schema.Number.pipe(Schema.between(0, 600))),
  /** How pages are loaded: plain `http`, headless Chromium (`browser`), or `auto`. */
  fetch: Schema.optionalWith(FetchMode, { default: () => "http" as const }),
})
export type HtmlSourceConfig = typeof HtmlSourceConfig.Type
export type HtmlSourceConfigEncoded = typeof HtmlSourceConfig.Encoded

/** A config file that cannot be used; the message names the file and the field. */
export class HtmlSourceConfigError extends Data.TaggedError("HtmlSourceConfigError")<{
  readonly path: string
  readonly message: string
}> {}

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`)
    .join("; ")

const decode = Schema.decodeUnknownEither(HtmlSourceConfig, {
  errors: "all",
  onExcessProperty: "error",
})

/** Validates parsed JSON as an html source config; `path` is only for the message. */
export const parseHtmlSourceConfig = (
  json: unknown,
  path: string,
): Either.Either<HtmlSourceConfig, HtmlSourceConfigError> =>
  Either.mapLeft(
    decode(json),
    (error) => new HtmlSourceConfigError({ path, message: `${path}: ${describeIssues(error)}` }),
  )

/** Reads and validates an html source config file. */
export const loadHtmlSourceConfig = (
  path: string,
): Effect.Effect<HtmlSourceConfig, HtmlSourceConfigError> =>
  Effect.tryPromise({
    try: () => Bun.file(path).text(),
    catch: (cause) =>
      new HtmlSourceConfigError({ path, message: `${path}: cannot be read (${String(cause)})` }),
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (cause) =>
          new HtmlSourceConfigError({
            path,
            message: `${path}: is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`,
          }),
      }),
    ),
    Effect.flatMap((json) => parseHtmlSourceConfig(json, path)),
  )
