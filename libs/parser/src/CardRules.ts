import type { Extractor, FieldSpec, HtmlSourceConfig, SkipRule } from "./HtmlSourceConfig.ts"
import { compileJsonPath } from "./JsonPath.ts"
import { type Candidate, cleanText, monthlyPrice, RentPeriod } from "./Listing.ts"
import { parseLocaleNumber } from "./LocaleNumber.ts"

/**
 * The per-card half of a config-driven source, shared by HTML and JSON cards: fields read through
 * extractor pipelines (with fallbacks), skip rules, the rent period and currency per card, and
 * the candidate listing built from them. What differs between the kinds is only where a raw
 * value comes from, given by a `CardAccess`.
 */

/** A value as read from a card, before its type is applied. */
export type Raw = string | number | boolean | null

/** How raw values are read from one kind of card. */
export interface CardAccess<C> {
  /** The value the extractor's source (selector/attr, or path) names in the card. */
  readonly one: (card: C, extractor: Extractor) => Raw
  /** Every value it names (all matching elements; all values a path reaches). */
  readonly many: (card: C, extractor: Extractor) => Array<Raw>
}

/** A card that the rules leave out, and why. */
export interface Skip {
  readonly skip: string
  readonly id: string | null
}

const toRaw = (value: unknown): Raw =>
  typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? value
    : null

/** Raw access to JSON cards through compiled paths (compiled once per extractor). */
export const jsonAccess = (): CardAccess<unknown> => {
  const paths = new Map<string, ReturnType<typeof compileJsonPath>>()
  const path = (source: string) => {
    let compiled = paths.get(source)
    if (compiled === undefined) {
      compiled = compileJsonPath(source)
      paths.set(source, compiled)
    }
    return compiled
  }
  return {
    one: (card, ex) => (ex.path === undefined ? null : toRaw(path(ex.path).first(card))),
    many: (card, ex) => (ex.path === undefined ? [] : path(ex.path).all(card).map(toRaw)),
  }
}

const BOOLEAN: Record<string, boolean> = {
  true: true,
  yes: true,
  "1": true,
  false: false,
  no: false,
  "0": false,
}

interface CompiledExtractor {
  readonly ex: Extractor
  readonly rewrites: ReadonlyArray<readonly [RegExp, string]>
  readonly map: ReadonlyArray<readonly [RegExp, Raw]>
  readonly regex: RegExp | null
}

const compileExtractor = (ex: Extractor): CompiledExtractor => ({
  ex,
  rewrites: (ex.replace === undefined
    ? []
    : Array.isArray(ex.replace)
      ? ex.replace
      : [ex.replace]
  ).map((r) => [new RegExp(r.pattern, "gu"), r.with] as const),
  map: Object.entries(ex.map ?? {}).map(([k, v]) => [new RegExp(k, "iu"), v] as const),
  regex: ex.regex === undefined ? null : new RegExp(ex.regex, "u"),
})

/** Applies an extractor's transforms (replace, map, regex, type, scale) to a raw value. */
const transform = (c: CompiledExtractor, raw: Raw, base: string): Raw => {
  let value = raw
  if (value === null) return null
  if (c.rewrites.length > 0) {
    let text = String(value)
    for (const [pattern, replacement] of c.rewrites) text = text.replace(pattern, replacement)
    value = text
  }
  if (c.map.length > 0) {
    const text = String(value)
    const hit = c.map.find(([pattern]) => pattern.test(text))
    if (hit !== undefined) value = hit[1]
  }
  if (c.regex !== null && value !== null) {
    const match = c.regex.exec(String(value))
    if (match === null) return null
    value = match[1] ?? match[0]
  }
  if (value === null) return null
  const ex = c.ex
  switch (ex.type) {
    case "text":
      return typeof value === "string" ? cleanText(value) : value
    case "number":
    case "integer": {
      let n = typeof value === "number" ? value : parseLocaleNumber(String(value), ex.decimal)
      if (n === null || typeof value === "boolean") return null
      if (ex.scale !== undefined) n *= ex.scale
      return ex.type === "integer" ? Math.floor(n) : n
    }
    case "boolean":
      return typeof value === "boolean"
        ? value
        : (BOOLEAN[String(value).trim().toLowerCase()] ?? null)
    case "url": {
      const href = String(value).trim()
      if (href.length === 0) return null
      try {
        return new URL(href, base).toString()
      } catch {
        return null
      }
    }
  }
}

/** A compiled field: `one` is the first value its extractors give (in order), `many` all. */
export interface CompiledField<C> {
  readonly one: (card: C, base: string) => Raw
  readonly many: (card: C, base: string) => Array<string>
}

const extractorList = (spec: FieldSpec | ReadonlyArray<Extractor>): ReadonlyArray<Extractor> =>
  Array.isArray(spec) ? spec : [spec as Extractor]

export const compileField = <C>(
  spec: FieldSpec | ReadonlyArray<Extractor>,
  access: CardAccess<C>,
): CompiledField<C> => {
  const list = extractorList(spec).map(compileExtractor)
  const rawOf = (c: CompiledExtractor, card: C): Raw =>
    c.ex.const !== undefined ? c.ex.const : access.one(card, c.ex)
  return {
    one: (card, base) => {
      for (const c of list) {
        const value = transform(c, rawOf(c, card), base)
        if (value !== null && value !== "") return value
      }
      return null
    },
    many: (card, base) => {
      for (const c of list) {
        const raws = c.ex.const !== undefined ? [c.ex.const] : access.many(card, c.ex)
        const values = raws
          .map((r) => transform(c, r, base))
          .filter((v): v is string | number => v !== null && v !== "" && typeof v !== "boolean")
          .map(String)
        if (values.length > 0) return [...new Set(values)]
      }
      return []
    },
  }
}

const asList = (value: Raw | ReadonlyArray<Raw> | undefined): Array<string> | null =>
  value === undefined ? null : (Array.isArray(value) ? value : [value]).map(String)

/** A compiled skip rule: the reason when the card is to be skipped, else null. */
export const compileSkipRule = <C>(rule: SkipRule, access: CardAccess<C>) => {
  const field = compileField(rule, access)
  const equals = asList(rule.equals)
  const notEquals = asList(rule.notEquals)
  const matches = rule.matches === undefined ? null : new RegExp(rule.matches, "iu")
  const noCondition =
    equals === null && notEquals === null && matches === null && rule.exists === undefined
  return (card: C, base: string): string | null => {
    const value = field.one(card, base)
    const text = value === null ? null : String(value)
    const holds =
      (noCondition ? text !== null : true) &&
      (rule.exists === undefined || rule.exists === (text !== null)) &&
      (equals === null || (text !== null && equals.includes(text))) &&
      // A value that is not there is not "another value": a site that renames the key must
      // not have every card skipped (a source that quietly finds nothing); use `exists` for that.
      (notEquals === null || (text !== null && !notEquals.includes(text))) &&
      (matches === null || (text !== null && matches.test(text)))
    return holds ? rule.reason.replaceAll("{value}", text ?? "nothing") : null
  }
}

const isRentPeriod = (value: unknown): value is RentPeriod =>
  typeof value === "string" && (RentPeriod.literals as ReadonlyArray<string>).includes(value)

const str = (v: Raw): string | null => (v === null ? null : String(v))
const num = (v: Raw): number | null =>
  v === null || typeof v === "boolean" ? null : typeof v === "number" ? v : parseLocaleNumber(v)
const date = (v: Raw): Date | null => {
  if (v === null || typeof v === "boolean") return null
  const parsed = new Date(typeof v === "number" && v < 1e11 ? v * 1000 : v)
  return Number.isNaN(parsed.getTime()) ? null : parsed
}

/**
 * The card reader of a config: runs the skip rules, then reads every field and builds the
 * candidate listing (validated later with the `Listing` schema). A card whose rent period maps
 * to `skip` is skipped too; one whose period is not understood is invalid, with the reason.
 */
export const compileCardReader = <C>(config: HtmlSourceConfig, access: CardAccess<C>) => {
  const f = config.fields
  const field = (spec: FieldSpec | undefined): CompiledField<C> | null =>
    spec === undefined ? null : compileField(spec, access)
  const fields = {
    id: field(f.id),
    url: field(f.url),
    title: field(f.title),
    price: field(f.price),
    rentPeriod: field(f.rentPeriod),
    currency: field(f.currency),
    rooms: field(f.rooms),
    baths: field(f.baths),
    areaM2: field(f.areaM2),
    address: field(f.address),
    neighbourhood: field(f.neighbourhood),
    description: field(f.description),
    photo: field(f.photo),
    photos: field(f.photos),
    agentName: field(f.agentName),
    agencyName: field(f.agencyName),
    agentPhone: field(f.agentPhone),
    permitNumber: field(f.permitNumber),
    furnished: field(f.furnished),
    postedText: field(f.postedText),
    postedAt: field(f.postedAt),
  }
  // The period's own words, before its map, for the reason of a skip or an unknown period.
  const periodWords =
    f.rentPeriod === undefined
      ? null
      : compileField(
          extractorList(f.rentPeriod).map(({ map: _map, ...ex }): Extractor => ex),
          access,
        )
  const skips = config.skip.map((rule) => compileSkipRule(rule, access))

  return (card: C, base: string): Candidate | Skip => {
    const read = (c: CompiledField<C> | null) => (c === null ? null : c.one(card, base))
    const id = str(read(fields.id))
    for (const rule of skips) {
      const reason = rule(card, base)
      if (reason !== null) return { skip: reason, id }
    }
    let period: RentPeriod = config.rentPeriod
    if (fields.rentPeriod !== null) {
      const value = read(fields.rentPeriod)
      const words = periodWords === null ? null : str(periodWords.one(card, base))
      if (value === "skip") return { skip: `rent period "${words ?? ""}"`, id }
      if (value !== null) {
        if (!isRentPeriod(value)) {
          return { ok: false, id, reason: `unknown rent period "${words ?? String(value)}"` }
        }
        period = value
      }
    }
    const price = num(read(fields.price))
    const photos = [
      ...(fields.photos === null ? [] : fields.photos.many(card, base)),
      ...[str(read(fields.photo))].filter((p): p is string => p !== null),
    ]
    const furnished = read(fields.furnished)
    return {
      ok: true,
      id,
      value: {
        source: config.id,
        externalId: id ?? "",
        market: config.market,
        url: str(read(fields.url)) ?? "",
        title: str(read(fields.title)) ?? "",
        description: str(read(fields.description)),
        price: price === null ? 0 : monthlyPrice(price, period),
        priceOriginal: price === null ? 0 : Math.round(price),
        rentPeriod: period,
        currency: str(read(fields.currency)) ?? config.currency,
        rooms: num(read(fields.rooms)),
        baths: num(read(fields.baths)),
        areaM2: roundArea(num(read(fields.areaM2))),
        neighbourhood: str(read(fields.neighbourhood)),
        districtGroups: [],
        address: str(read(fields.address)),
        furnished: typeof furnished === "boolean" ? furnished : null,
        photos: [...new Set(photos)],
        agentName: str(read(fields.agentName)),
        agencyName: str(read(fields.agencyName)),
        agentPhone: str(read(fields.agentPhone)),
        permitNumber: str(read(fields.permitNumber)),
        postedAt: date(read(fields.postedAt)),
        postedText: str(read(fields.postedText)),
        raw: null,
      },
    }
  }
}

const roundArea = (area: number | null): number | null =>
  area === null ? null : Math.round(area * 10) / 10

/** The names of the fields a config reads (for the ops command's fill counts). */
export const configuredFields = (config: HtmlSourceConfig): Array<string> =>
  Object.entries(config.fields)
    .filter(([, spec]) => spec !== undefined)
    .map(([name]) => name)
