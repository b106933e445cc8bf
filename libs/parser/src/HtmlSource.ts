import { Duration, Effect } from "effect"
import type { Element } from "happy-dom"
import type { FetchOptions } from "./Fetcher.ts"
import { type CutPlan, cut, pruneFor, withDocument } from "./HtmlDocument.ts"
import { crawlHtmlList, rebase, renderSpecFor } from "./HtmlListCrawl.ts"
import type { FieldSpec, HtmlSourceConfig } from "./HtmlSourceConfig.ts"
import {
  type Candidate,
  cleanText,
  monthlyPrice,
  PageResult,
  unrecognisedPage,
  validateCandidates,
} from "./Listing.ts"
import { parseLocaleNumber } from "./LocaleNumber.ts"
import type { Source } from "./Source.ts"

type FieldValue = string | number | null

const readAttribute = (element: Element, names: string | ReadonlyArray<string>): string | null => {
  for (const name of typeof names === "string" ? [names] : names) {
    const value = element.getAttribute(name)
    if (value !== null && value.trim().length > 0) return value
  }
  return null
}

/** Reads one field from a card as its spec says; null when absent or unreadable. */
export const readField = (card: Element, spec: FieldSpec, base: string): FieldValue => {
  const element = spec.selector === undefined ? card : card.querySelector(spec.selector)
  if (element === null) return null
  let value = spec.attr === undefined ? element.textContent : readAttribute(element, spec.attr)
  if (value === null) return null
  if (spec.regex !== undefined) {
    const match = new RegExp(spec.regex, "u").exec(value)
    if (match === null) return null
    value = match[1] ?? match[0]
  }
  switch (spec.type) {
    case "text":
      return cleanText(value)
    case "number":
      return parseLocaleNumber(value, spec.decimal)
    case "integer": {
      const n = parseLocaleNumber(value, spec.decimal)
      return n === null ? null : Math.floor(n)
    }
    case "url": {
      const href = value.trim()
      if (href.length === 0) return null
      try {
        return new URL(href, base).toString()
      } catch {
        return null
      }
    }
  }
}

const str = (v: FieldValue): string | null => (v === null ? null : String(v))
const num = (v: FieldValue): number | null =>
  v === null ? null : typeof v === "number" ? v : parseLocaleNumber(v)

const date = (v: FieldValue): Date | null => {
  if (v === null) return null
  const parsed = new Date(String(v))
  return Number.isNaN(parsed.getTime()) ? null : parsed
}

/** The cut-down plan for a config: keep the list, prune what no selector or field reads. */
export const planFor = (config: HtmlSourceConfig): CutPlan => {
  const fields = Object.values(config.fields).filter((f): f is FieldSpec => f !== undefined)
  return {
    keep: [config.list],
    markers: { empty: config.empty, blocked: config.blocked },
    prune: pruneFor(
      [
        config.list,
        config.card,
        ...fields.flatMap((f) => (f.selector === undefined ? [] : [f.selector])),
      ],
      fields.flatMap((f) =>
        f.attr === undefined ? [] : typeof f.attr === "string" ? [f.attr] : f.attr,
      ),
    ),
  }
}

/**
 * The pure page parser of a config-driven source: cards inside `list`, fields as configured,
 * each listing validated. Blocked and empty pages are recognised by the configured markers.
 */
export const htmlPageParser = (config: HtmlSourceConfig) => {
  const plan = planFor(config)
  const f = config.fields
  const readCard = (card: Element, base: string): Candidate => {
    const read = (spec: FieldSpec | undefined) =>
      spec === undefined ? null : readField(card, spec, base)
    const id = str(read(f.id))
    const price = num(read(f.price))
    const photo = str(read(f.photo))
    return {
      ok: true,
      id,
      value: {
        source: config.id,
        externalId: id ?? "",
        market: config.market,
        url: str(read(f.url)) ?? "",
        title: str(read(f.title)) ?? "",
        description: str(read(f.description)),
        price: price === null ? 0 : monthlyPrice(price, config.rentPeriod),
        priceOriginal: price === null ? 0 : Math.round(price),
        rentPeriod: config.rentPeriod,
        currency: config.currency,
        rooms: num(read(f.rooms)),
        baths: num(read(f.baths)),
        areaM2: num(read(f.areaM2)),
        neighbourhood: str(read(f.neighbourhood)),
        districtGroups: [],
        address: str(read(f.address)),
        furnished: null,
        photos: photo === null ? [] : [photo],
        agentName: str(read(f.agentName)),
        agencyName: null,
        agentPhone: null,
        permitNumber: null,
        postedAt: date(read(f.postedAt)),
        postedText: str(read(f.postedText)),
        raw: null,
      },
    }
  }

  return (body: string, pageUrl?: string): Effect.Effect<PageResult> => {
    const base = pageUrl ?? config.siteUrl ?? config.urls[0].replaceAll("{page}", "1")
    const page = cut(body, plan)
    if (page.kept > 0) {
      return withDocument(page.html, (document) => {
        const cards = [...document.querySelectorAll(config.list)].flatMap((list) => [
          ...list.querySelectorAll(config.card),
        ])
        return cards.length === 0 ? null : validateCandidates(cards.map((c) => readCard(c, base)))
      }).pipe(Effect.map((result) => result ?? classify(page.markers, true)))
    }
    return Effect.succeed(classify(page.markers, false))
  }
}

/**
 * A page without cards: blocked (a block marker), empty (an empty marker, or a result list with
 * nothing in it), or else a page the config does not recognise, reported as an invalid card so
 * that ops see it (and the source turns `degraded` if it keeps happening).
 */
const classify = (markers: ReadonlySet<string>, sawList: boolean): PageResult => {
  if (markers.has("blocked"))
    return PageResult.Blocked({ reason: "the page matches a block marker" })
  if (markers.has("empty") || sawList) return PageResult.Empty()
  return unrecognisedPage("no result list on the page and no empty or block marker matched")
}

/** Everything the source needs besides its config file. */
export interface HtmlSourceOptions {
  /** Send the requests to this origin instead (tests, mirrors). */
  readonly baseUrl?: string | undefined
  readonly fetch: FetchOptions
}

/** A source defined by an ops-written config (`HtmlSourceConfig`), with no site-specific code. */
export const htmlSource = (config: HtmlSourceConfig, options: HtmlSourceOptions): Source => {
  const parse = htmlPageParser(config)
  const fetch: FetchOptions = {
    ...options.fetch,
    render: renderSpecFor(planFor(config), config.card),
    ...(config.acceptLanguage === undefined ? {} : { acceptLanguage: config.acceptLanguage }),
    ...(config.politenessSeconds === undefined
      ? {}
      : { politeness: Duration.seconds(config.politenessSeconds) }),
  }
  return {
    id: config.id,
    market: config.market,
    parse,
    crawl: crawlHtmlList({
      source: config.id,
      urls: config.urls.map((url) => rebase(url, options.baseUrl)),
      pagination: config.pagination,
      fetch,
      parse,
    }),
  }
}
