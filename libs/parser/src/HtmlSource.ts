import { Duration, Effect } from "effect"
import type { Element } from "happy-dom"
import { wallPage } from "./BotWall.ts"
import { type CardAccess, compileCardReader, type Raw } from "./CardRules.ts"
import type { FetchOptions } from "./Fetcher.ts"
import { type CutPlan, cut, pruneFor, splitSelectorList, withDocument } from "./HtmlDocument.ts"
import { crawlHtmlList, rebase, renderSpecOfConfig } from "./HtmlListCrawl.ts"
import type { Extractor, HtmlSourceConfig } from "./HtmlSourceConfig.ts"
import { jsonPageParser } from "./JsonSource.ts"
import { PageResult, unrecognisedPage, validateCandidates } from "./Listing.ts"
import type { Source } from "./Source.ts"

const readAttribute = (element: Element, names: string | ReadonlyArray<string>): string | null => {
  for (const name of typeof names === "string" ? [names] : names) {
    const value = element.getAttribute(name)
    if (value !== null && value.trim().length > 0) return value
  }
  return null
}

const elementValue = (element: Element, ex: Extractor): Raw =>
  ex.attr === undefined ? element.textContent : readAttribute(element, ex.attr)

/** Raw access to HTML cards: the text or attribute of the first (or every) match in the card. */
export const htmlAccess: CardAccess<Element> = {
  one: (card, ex) => {
    const element = ex.selector === undefined ? card : card.querySelector(ex.selector)
    return element === null ? null : elementValue(element, ex)
  },
  many: (card, ex) =>
    (ex.selector === undefined ? [card] : [...card.querySelectorAll(ex.selector)]).map((e) =>
      elementValue(e, ex),
    ),
}

const extractors = (config: HtmlSourceConfig): Array<Extractor> => [
  ...Object.values(config.fields).flatMap((spec) =>
    spec === undefined ? [] : Array.isArray(spec) ? spec : [spec as Extractor],
  ),
  ...config.skip,
]

const streamable = (selector: string): boolean => {
  try {
    new HTMLRewriter().on(selector, {}).transform("")
    return true
  } catch {
    return false
  }
}

/**
 * The cut-down plan for a config: keep the lists (or, without `list`, the cards themselves when
 * their selector can be streamed, else the whole page), prune what no selector or field reads.
 */
export const planFor = (config: HtmlSourceConfig): CutPlan => {
  const all = extractors(config)
  const card = config.card ?? "*"
  const keep =
    config.list !== undefined ? [config.list] : streamable(card) ? splitSelectorList(card) : []
  return {
    keep,
    markers: { empty: config.empty, blocked: config.blocked },
    prune:
      keep.length === 0
        ? undefined
        : pruneFor(
            [
              ...(config.list === undefined ? [] : [config.list]),
              card,
              ...all.flatMap((f) => (f.selector === undefined ? [] : [f.selector])),
            ],
            all.flatMap((f) =>
              f.attr === undefined ? [] : typeof f.attr === "string" ? [f.attr] : f.attr,
            ),
          ),
  }
}

/**
 * A page without cards: blocked (a block marker), empty (an empty marker, or a result list with
 * nothing in it), or else a page the config does not recognise, reported as an invalid card so
 * that ops see it (and the source turns `degraded` if it keeps happening).
 */
export const classify = (
  markers: ReadonlySet<string>,
  sawList: boolean,
  what = "no result list on the page",
): PageResult => {
  if (markers.has("blocked"))
    return PageResult.Blocked({ reason: "the page matches a block marker" })
  if (markers.has("empty") || sawList) return PageResult.Empty()
  return unrecognisedPage(`${what} and no empty or block marker matched`)
}

/** The page base for relative links: the page's URL, else `siteUrl`, else the first search URL. */
export const baseFor = (config: HtmlSourceConfig, pageUrl: string | undefined): string =>
  pageUrl ?? config.siteUrl ?? config.urls[0].replaceAll("{page}", "1")

const htmlCardParser = (config: HtmlSourceConfig) => {
  const plan = planFor(config)
  const readCard = compileCardReader(config, htmlAccess)
  const card = config.card ?? "*"
  const list = config.list
  return (body: string, pageUrl?: string): Effect.Effect<PageResult> => {
    const base = baseFor(config, pageUrl)
    const page = cut(body, plan)
    if (page.kept === 0 && plan.keep.length > 0) {
      return Effect.succeed(
        classify(
          page.markers,
          false,
          list === undefined ? `no card (${card}) on the page` : "no result list on the page",
        ),
      )
    }
    return withDocument(page.html, (document) => {
      const cards = new Set(
        list === undefined
          ? document.querySelectorAll(card)
          : [...document.querySelectorAll(list)].flatMap((l) => [...l.querySelectorAll(card)]),
      )
      return cards.size === 0 ? null : validateCandidates([...cards].map((c) => readCard(c, base)))
    }).pipe(
      Effect.map(
        (result) =>
          result ?? classify(page.markers, list !== undefined, `no card (${card}) on the page`),
      ),
    )
  }
}

/**
 * The pure page parser of a config-driven source: HTML cards (inside `list`, fields through
 * selectors) or JSON cards (`json` + `cards`, fields through paths); skip rules applied, each
 * listing validated. A common bot wall (`BotWall`) is blocked whatever the config says; the
 * configured markers recognise the site's own block and empty pages.
 */
export const htmlPageParser = (
  config: HtmlSourceConfig,
): ((body: string, pageUrl?: string) => Effect.Effect<PageResult>) => {
  const parse = config.json === undefined ? htmlCardParser(config) : jsonPageParser(config)
  return (body, pageUrl) => {
    const wall = wallPage(body)
    return wall === null ? parse(body, pageUrl) : Effect.succeed(wall)
  }
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
    render: renderSpecOfConfig(config),
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
      ...(config.request === undefined ? {} : { request: config.request }),
    }),
  }
}
