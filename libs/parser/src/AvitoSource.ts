import { Effect } from "effect"
import type { Element } from "happy-dom"
import { wallPage } from "./BotWall.ts"
import type { FetchOptions } from "./Fetcher.ts"
import { type CutPlan, cut, withDocument } from "./HtmlDocument.ts"
import { crawlHtmlList, rebase, renderSpecFor } from "./HtmlListCrawl.ts"
import {
  type Candidate,
  cleanText,
  monthlyPrice,
  PageResult,
  type RentPeriod,
  type SkippedCard,
  unrecognisedPage,
  validateCandidates,
} from "./Listing.ts"
import { parseLocaleNumber } from "./LocaleNumber.ts"
import type { Source } from "./Source.ts"

export const AVITO_SITE = "https://www.avito.ru/"

const SERP = '[data-marker="catalog-serp"]'
const CARD = '[data-marker="item"]'

/**
 * Only the result list is parsed: Avito's "nothing found" page shows ~50 "wider area" cards
 * outside `catalog-serp`, which are not results. Block pages (IP block, captcha) and the
 * nothing-found notice are recognised from markers while cutting, without a DOM.
 */
const PLAN: CutPlan = {
  keep: [SERP],
  // Buttons, badges and the description paragraph (the same text is in a meta tag): a third of
  // what is left of a card, and nothing the parser reads.
  drop: [
    '[data-marker="messenger-button"]',
    '[data-marker="item-contact"]',
    '[data-marker="favorites-add"]',
    '[data-marker="item-specific-params"]',
    '[data-marker="item-line"]',
    '[class*="descriptionStep"]',
    '[data-marker^="badge"]',
    'meta[itemprop="availability"]',
    "button",
  ],
  markers: {
    blocked: [
      { selector: ".firewall-container" },
      { selector: ".js-firewall-form" },
      { selector: "#h-captcha" },
      { selector: "#geetest_captcha" },
      { selector: "title", text: "доступ ограничен" },
      { selector: "title", text: "вы не робот" },
      { selector: "h1", text: "вы не робот" },
      { selector: "h2", text: "доступ ограничен" },
    ],
    empty: [
      { selector: '[class*="no-results-title"]' },
      { selector: "h2", text: "ничего не найдено" },
    ],
  },
  prune: {
    attributes: new Set([
      "data-marker",
      "data-item-id",
      "href",
      "itemprop",
      "content",
      "srcset",
      "src",
    ]),
    tags: new Set(["a", "img", "meta"]),
  },
}

const PERIODS: ReadonlyArray<readonly [RegExp, RentPeriod]> = [
  [/в\s+месяц|\/\s*мес/i, "monthly"],
  [/за\s+сутки|в\s+сутки|\/\s*сут/i, "daily"],
  [/в\s+неделю|за\s+неделю/i, "weekly"],
  [/в\s+год|за\s+год/i, "yearly"],
]

/** Rooms from an Avito title: "студия" is 0, "2-к." is 2; a room in a shared flat is unknown. */
export const avitoRooms = (title: string): number | null => {
  if (/^\s*комната/i.test(title)) return null
  if (/студи/i.test(title)) return 0
  const match = /(\d+)\s*-\s*к\./i.exec(title)
  return match?.[1] === undefined ? null : Number(match[1])
}

/** The first area in a title ("48,3 м²"). */
export const avitoArea = (title: string): number | null => {
  const match = /(\d+(?:[.,]\d+)?)\s*м²/.exec(title)
  return match?.[1] === undefined ? null : parseLocaleNumber(match[1], ",")
}

/** The widest image of a `srcset` ("url 208w, url 636w"). */
export const largestFromSrcset = (srcset: string | null): string | null => {
  if (srcset === null) return null
  let best: { url: string; width: number } | null = null
  for (const part of srcset.split(/,(?=\s*https?:|\s*\/)/)) {
    const [url, size] = part.trim().split(/\s+/)
    if (url === undefined || url.length === 0) continue
    const width = Number.parseInt(size ?? "0", 10) || 0
    if (best === null || width >= best.width) best = { url, width }
  }
  return best?.url ?? null
}

const absolute = (href: string | null | undefined, base: string): string | null => {
  if (href === null || href === undefined || href.trim().length === 0) return null
  try {
    return new URL(href.trim(), base).toString()
  } catch {
    return null
  }
}

const readCard = (
  card: Element,
  source: string,
  market: string,
  base: string,
): Candidate | SkippedCard => {
  const id = card.getAttribute("data-item-id")
  const link = card.querySelector('[data-marker="item-title"]')
  const title = cleanText(link?.textContent)
  const priceText = cleanText(card.querySelector('[data-marker="item-price"]')?.textContent) ?? ""
  const price = parseLocaleNumber(
    card.querySelector('meta[itemprop="price"]')?.getAttribute("content") ?? priceText,
  )
  const period = PERIODS.find(([pattern]) => pattern.test(priceText))?.[1]
  if (period === undefined) {
    // A price with no period is a sale ad (a sale search, or one among rentals): left out.
    if (price !== null && price > 0) return { skip: "for sale (a price with no rent period)", id }
    return { ok: false, id, reason: `no rent period in the price "${priceText}"` }
  }
  const img = card.querySelector("img")
  const photo =
    largestFromSrcset(img?.getAttribute("srcset") ?? null) ??
    absolute(img?.getAttribute("src"), base)
  return {
    ok: true,
    id,
    value: {
      source,
      externalId: id ?? "",
      market,
      url: absolute(link?.getAttribute("href"), base) ?? "",
      title: title ?? "",
      description: cleanText(
        card.querySelector('meta[itemprop="description"]')?.getAttribute("content"),
      ),
      price: price === null ? 0 : monthlyPrice(price, period),
      priceOriginal: price === null ? 0 : Math.round(price),
      rentPeriod: period,
      currency: card.querySelector('meta[itemprop="priceCurrency"]')?.getAttribute("content") ?? "",
      rooms: title === null ? null : avitoRooms(title),
      baths: null,
      areaM2: title === null ? null : avitoArea(title),
      neighbourhood: null,
      districtGroups: [],
      address: cleanText(card.querySelector('[data-marker="item-address"]')?.textContent),
      furnished: null,
      photos: photo !== null && /^https?:/.test(photo) ? [photo] : [],
      agentName: null,
      agencyName: null,
      agentPhone: null,
      permitNumber: null,
      postedAt: null,
      postedText: cleanText(card.querySelector('[data-marker="item-date"]')?.textContent),
      raw: { priceText },
    },
  }
}

/**
 * Parses one Avito search result page (pure: no I/O). `pageUrl` resolves relative links. Sale
 * cards (a price with no rent period) are skipped, with the reason; a card with no price is
 * invalid.
 * Blocked: a common bot wall (`BotWall`), or Avito's own IP-block or captcha page. Empty: the
 * nothing-found page (its suggestion cards
 * are outside the result list and never count).
 */
export const parseAvitoPage = (
  body: string,
  options: { readonly source?: string; readonly market: string; readonly pageUrl?: string },
): Effect.Effect<PageResult> => {
  const wall = wallPage(body)
  if (wall !== null) return Effect.succeed(wall)
  const page = cut(body, PLAN)
  const source = options.source ?? "avito"
  const base = options.pageUrl ?? AVITO_SITE
  if (page.kept === 0 || !page.html.includes('data-marker="item"')) {
    if (page.markers.has("blocked")) {
      return Effect.succeed(
        PageResult.Blocked({ reason: "Avito block page (IP block or captcha)" }),
      )
    }
    if (page.markers.has("empty") || page.kept > 0) return Effect.succeed(PageResult.Empty())
    return Effect.succeed(unrecognisedPage("no result list (catalog-serp) on the page"))
  }
  return withDocument(page.html, (document) =>
    validateCandidates(
      [...document.querySelectorAll(`${SERP} ${CARD}`)].map((card) =>
        readCard(card, source, options.market, base),
      ),
    ),
  )
}

export interface AvitoConfig {
  readonly id: string
  readonly market: string
  /** Search result URLs (newest first: Avito's `s=104` sort). */
  readonly urls: ReadonlyArray<string>
  /** Send the requests to this origin instead (tests, mirrors). */
  readonly baseUrl?: string | undefined
  readonly maxPages: number
  readonly fetch: FetchOptions
}

/** The Avito source: search pages read newest first, page parameter `p`. */
export const avitoSource = (config: AvitoConfig): Source => {
  const parse = (body: string, pageUrl?: string) =>
    parseAvitoPage(body, {
      source: config.id,
      market: config.market,
      pageUrl: pageUrl ?? config.baseUrl ?? AVITO_SITE,
    })
  return {
    id: config.id,
    market: config.market,
    parse,
    crawl: crawlHtmlList({
      source: config.id,
      urls: config.urls.map((url) => rebase(url, config.baseUrl)),
      pagination: { param: "p", first: 1, maxPages: config.maxPages },
      fetch: { ...config.fetch, render: renderSpecFor(PLAN, CARD) },
      parse,
    }),
  }
}
