import { Cron } from "croner"
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import { Window } from "happy-dom"
import { FetchMode } from "./FetchMode.ts"
import { assertRewriterSelector } from "./HtmlDocument.ts"
import { jsonPathProblem } from "./JsonPath.ts"
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

const Scalar = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)

const Path = Schema.NonEmptyTrimmedString.pipe(Schema.filter((s) => jsonPathProblem(s) ?? true))

/** A regular-expression rewrite of a value (`"with"` may use `$1`); every match is replaced. */
const Rewrite = Schema.Struct({ pattern: Regex, with: Schema.String })

/**
 * An ordered pattern map: each key is a case-insensitive regular expression tried on the value's
 * text in order; the first that matches replaces the value (`{"pcm": "monthly", "^sell$": "skip"}`).
 */
const PatternMap = Schema.Record({ key: Schema.String, value: Scalar }).pipe(
  Schema.filter((map) => {
    for (const key of Object.keys(map)) {
      try {
        new RegExp(key, "iu")
      } catch (error) {
        return `key "${key}" is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`
      }
    }
    return true
  }),
)

/**
 * How one value is read from a card, in this order: where it comes from (`selector`/`attr` in an
 * HTML card, `path` in a JSON card, or `const`), then `replace`, `map`, `regex` (its first capture
 * group, or the whole match), `type` (`text`: whitespace collapsed; `number`: locale separators,
 * `decimal` says which is the decimal point; `integer`: rounded down; `url`: made absolute;
 * `boolean`: true/yes/1 or false/no/0) and `scale` (numbers multiplied, e.g. sqft to m²).
 */
export const Extractor = Schema.Struct({
  /** HTML cards: the first element matching this inside the card (the card itself when omitted). */
  selector: Schema.optional(Selector),
  /** HTML cards: an attribute, or several: the first one present and not blank is read. */
  attr: Schema.optional(
    Schema.Union(Schema.NonEmptyTrimmedString, Schema.NonEmptyArray(Schema.NonEmptyTrimmedString)),
  ),
  /** JSON cards: a path into the card (see `JsonPath.ts`). */
  path: Schema.optional(Path),
  /** A constant instead of reading the card. */
  const: Schema.optional(Scalar),
  replace: Schema.optional(Schema.Union(Rewrite, Schema.NonEmptyArray(Rewrite))),
  map: Schema.optional(PatternMap),
  regex: Schema.optional(Regex),
  type: Schema.optionalWith(Schema.Literal("text", "number", "integer", "url", "boolean"), {
    default: () => "text" as const,
  }),
  decimal: Schema.optionalWith(Schema.Literal(",", "."), { default: () => "." as const }),
  scale: Schema.optional(Schema.Number.pipe(Schema.positive())),
})
export type Extractor = typeof Extractor.Type

/** One extractor, or several tried in order until one gives a value (a fallback). */
export const FieldSpec = Schema.Union(Extractor, Schema.NonEmptyArray(Extractor))
export type FieldSpec = typeof FieldSpec.Type

const ScalarOrList = Schema.Union(Scalar, Schema.NonEmptyArray(Scalar))

/**
 * A card left out on purpose (a sale ad on a rentals search, a project, a promoted card): the
 * value is read like a field; the card is skipped when every condition given holds (none given:
 * when the value is present). Skipped cards are counted with `reason` (`{value}` in it is
 * replaced by the value read), never reported as invalid.
 */
export const SkipRule = Schema.Struct({
  ...Extractor.fields,
  equals: Schema.optional(ScalarOrList),
  notEquals: Schema.optional(ScalarOrList),
  /** A case-insensitive regular expression the value's text contains. */
  matches: Schema.optional(Regex),
  exists: Schema.optional(Schema.Boolean),
  reason: Schema.NonEmptyTrimmedString,
})
export type SkipRule = typeof SkipRule.Type

/**
 * Where a JSON source finds its JSON: `"response"` (the answer is JSON: an API endpoint), a
 * `<script>` chosen by `script` (matched on the tag alone: `script#__NEXT_DATA__`,
 * `script[type="application/ld+json"]`; `all` = every match, as an array), or the object assigned
 * by a JavaScript statement (`"assignment": "window.state"`), decoded without running it.
 */
export const JsonLocatorSpec = Schema.Union(
  Schema.Literal("response"),
  Schema.Struct({ script: StreamSelector, all: Schema.optional(Schema.Boolean) }),
  Schema.Struct({
    assignment: Schema.String.pipe(
      Schema.pattern(/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/, {
        message: () => "must be a JavaScript name like window.state",
      }),
    ),
  }),
)

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

const HtmlSourceConfigFields = Schema.Struct({
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
  /**
   * JSON endpoints: the request for each page (`{page}` in `body` is the page number; the URL's
   * `{page}` or `pagination.param` as for pages). The answer is read with `"json": "response"`.
   */
  request: Schema.optional(
    Schema.Struct({
      method: Schema.optionalWith(Schema.Literal("GET", "POST"), { default: () => "GET" as const }),
      body: Schema.optional(Schema.String),
      headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
    }),
  ),
  /**
   * HTML cards: the result list(s), a selector list (`"#results, main .serp"`); only what is
   * inside is parsed. Omitted: cards are matched anywhere in the page.
   */
  list: Schema.optional(StreamSelector),
  /** HTML cards: one listing (inside `list`, when given). */
  card: Schema.optional(Selector),
  /** JSON sources: where the JSON is (then `cards` is required and `list`/`card` are not used). */
  json: Schema.optional(JsonLocatorSpec),
  /** JSON sources: the path of the cards, e.g. `props.pageProps.searchResult.listings[*]`. */
  cards: Schema.optional(Path),
  /** Cards left out on purpose, counted as skipped with the reason. */
  skip: Schema.optionalWith(Schema.Array(SkipRule), { default: () => [] }),
  fields: Schema.Struct({
    id: FieldSpec,
    url: FieldSpec,
    title: FieldSpec,
    price: FieldSpec,
    /** Per card (overrides `rentPeriod`): monthly, yearly, weekly, daily, or `skip`. */
    rentPeriod: Schema.optional(FieldSpec),
    /** Per card (overrides `currency`): an ISO code. */
    currency: Schema.optional(FieldSpec),
    rooms: Schema.optional(FieldSpec),
    baths: Schema.optional(FieldSpec),
    areaM2: Schema.optional(FieldSpec),
    address: Schema.optional(FieldSpec),
    neighbourhood: Schema.optional(FieldSpec),
    description: Schema.optional(FieldSpec),
    /** One photo; `photos` reads every match (every value of a path with `[*]`). */
    photo: Schema.optional(FieldSpec),
    photos: Schema.optional(FieldSpec),
    agentName: Schema.optional(FieldSpec),
    agencyName: Schema.optional(FieldSpec),
    agentPhone: Schema.optional(FieldSpec),
    permitNumber: Schema.optional(FieldSpec),
    /** A boolean (`"type": "boolean"`, or a `map` to true/false). */
    furnished: Schema.optional(FieldSpec),
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

const extractorsOf = (spec: FieldSpec): ReadonlyArray<Extractor> =>
  Array.isArray(spec) ? spec : [spec as Extractor]

/** What one kind of source may not use: `path` in HTML cards, `selector`/`attr` in JSON cards. */
const kindIssues = (
  config: typeof HtmlSourceConfigFields.Type,
): Array<{ path: ReadonlyArray<string>; message: string }> => {
  const issues: Array<{ path: ReadonlyArray<string>; message: string }> = []
  const json = config.json !== undefined
  if (json) {
    if (config.cards === undefined)
      issues.push({ path: ["cards"], message: "is missing (a JSON source needs the cards' path)" })
    for (const key of ["list", "card"] as const) {
      if (config[key] !== undefined)
        issues.push({ path: [key], message: "is for HTML cards; a JSON source uses `cards`" })
    }
  } else {
    if (config.card === undefined)
      issues.push({ path: ["card"], message: "is missing (or set `json` for a JSON source)" })
    if (config.cards !== undefined)
      issues.push({ path: ["cards"], message: "is for JSON sources (set `json`)" })
  }
  const check = (where: Array<string>, ex: Extractor) => {
    const from = [ex.selector ?? ex.attr, ex.path, ex.const].filter((x) => x !== undefined)
    if (json && (ex.selector !== undefined || ex.attr !== undefined))
      issues.push({
        path: where,
        message: "selector/attr read HTML cards; a JSON card uses `path`",
      })
    if (!json && ex.path !== undefined)
      issues.push({
        path: where,
        message: "`path` reads JSON cards; an HTML card uses selector/attr",
      })
    if (from.length > 1)
      issues.push({
        path: where,
        message: "reads from more than one of selector/attr, path, const",
      })
    if (json && from.length === 0)
      issues.push({ path: where, message: "needs a `path` (or a `const`)" })
  }
  for (const [name, spec] of Object.entries(config.fields)) {
    if (spec === undefined) continue
    const list = extractorsOf(spec)
    for (const [i, ex] of list.entries()) {
      check(list.length > 1 ? ["fields", name, String(i)] : ["fields", name], ex)
    }
  }
  for (const [i, rule] of config.skip.entries()) check(["skip", String(i)], rule)
  return issues
}

/**
 * A config-driven source, as ops write it in a JSON file (see `sources/*.json`): HTML cards read
 * with CSS selectors, or JSON cards (embedded in the page or from an endpoint) read with paths.
 * Every selector, path and pattern is checked when the file is loaded; a mistake fails start-up
 * naming the field.
 */
export const HtmlSourceConfig = HtmlSourceConfigFields.pipe(
  Schema.filter((config) => {
    const issues = kindIssues(config)
    return issues.length === 0 ? true : issues
  }),
)
export type HtmlSourceConfig = typeof HtmlSourceConfig.Type
export type HtmlSourceConfigEncoded = typeof HtmlSourceConfig.Encoded

/** A config file that cannot be used; the message names the file and the field. */
export class HtmlSourceConfigError extends Data.TaggedError("HtmlSourceConfigError")<{
  readonly path: string
  readonly message: string
}> {}

const describeIssues = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({
    at: i.path.length === 0 ? "(root)" : i.path.join("."),
    message: i.message,
  }))
  // An optional field that is wrong also "is not undefined": noise next to the real problem.
  const real = issues.filter(
    (i) =>
      !i.message.startsWith("Expected undefined,") ||
      !issues.some((o) => o !== i && (o.at === i.at || o.at.startsWith(`${i.at}.`))),
  )
  return real.map((i) => `${i.at}: ${i.message}`).join("; ")
}

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
