import { groupLabel, type Market } from "@flatwatch/market/Market"
import * as Html from "@flatwatch/telegram/Html"
import { formatPrice } from "@flatwatch/telegram/ListingAlert"
import type { BotSettings } from "./BotConfig.ts"
import type { FilterRow } from "./Filters.ts"
import type { Language } from "./Format.ts"
import { button, keyboard } from "./Keyboards.ts"
import type { Messages } from "./Messages.ts"
import type { FilterDraft } from "./Session.ts"

/** The criteria of a filter or a draft, whichever is being shown. */
export type Criteria = Pick<
  FilterDraft,
  "market" | "districtGroups" | "priceMin" | "priceMax" | "rooms" | "rentPeriods" | "furnishing"
>

/** The loaded market of a filter or draft (any loaded market, enabled or not). */
export const marketOf = (settings: BotSettings, market: string): Market | undefined =>
  settings.allMarkets.get(market)

export const currencyOf = (settings: BotSettings, market: string): string =>
  marketOf(settings, market)?.currency ?? ""

/** The market's display name in the user's language (its id when it is not loaded). */
export const marketName = (settings: BotSettings, market: string, lang: Language): string =>
  marketOf(settings, market)?.names[lang] ?? market

/** A district group as the user reads it. */
export const groupName = (
  settings: BotSettings,
  market: string,
  group: string,
  lang: Language,
): string => {
  const m = marketOf(settings, market)
  return m === undefined ? group : groupLabel(m, group, lang)
}

export const priceText = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  c: Criteria,
): string => {
  const currency = currencyOf(settings, c.market)
  const fmt = (n: number) => formatPrice(n, currency, lang)
  if (c.priceMin !== null && c.priceMax !== null)
    return t.priceBetween(fmt(c.priceMin), fmt(c.priceMax))
  if (c.priceMin !== null) return t.priceFrom(fmt(c.priceMin))
  if (c.priceMax !== null) return t.priceUpTo(fmt(c.priceMax))
  return t.anyPrice
}

const roomsText = (t: Messages, c: Criteria) =>
  c.rooms.length === 0
    ? t.anyRooms
    : [...c.rooms]
        .sort((a, b) => a - b)
        .map(t.roomName)
        .join(", ")

/** A multi-line description of the criteria, one line per field. */
export const describeCriteria = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  c: Criteria,
): string => {
  const lines = [
    showMarket(settings)
      ? `🏙 ${t.labelMarket}: ${Html.escape(marketName(settings, c.market, lang))}`
      : undefined,
    `📍 ${t.labelDistricts}: ${
      c.districtGroups.length === 0
        ? t.anyDistrict
        : Html.escape(
            c.districtGroups.map((g) => groupName(settings, c.market, g, lang)).join(", "),
          )
    }`,
    `💰 ${t.labelPrice}: ${priceText(t, lang, settings, c)}`,
    `🛏 ${t.labelRooms}: ${roomsText(t, c)}`,
    `📅 ${t.labelPeriod}: ${
      c.rentPeriods.length === 0 ? t.anyPeriod : c.rentPeriods.map(t.periodName).join(", ")
    }`,
    `🛋 ${t.labelFurnishing}: ${t.furnishingName(c.furnishing)}`,
  ]
  return lines.filter((l) => l !== undefined).join("\n")
}

const showMarket = (settings: BotSettings) => settings.markets.length > 1

/**
 * /filters: the user's searches, one button each, and "New search" while under the limit. With
 * all alerts paused (/pause) it says so, or the user would wonder why nothing arrives.
 */
export const renderFilterList = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  rows: ReadonlyArray<FilterRow>,
  allPaused: boolean,
) => {
  const max = settings.maxFiltersPerUser
  const list =
    rows.length === 0
      ? t.searchesEmpty
      : [
          t.searchesTitle(rows.length, max),
          ...rows.map(
            (f, i) =>
              `\n${i + 1}. <b>${Html.escape(f.name)}</b> (${f.active ? t.statusActive : t.statusPaused})\n${describeCriteria(t, lang, settings, f)}`,
          ),
        ].join("\n")
  const text = allPaused ? `${list}\n\n${t.pausedAll}` : list
  const markup = keyboard([
    ...rows.map((f) => [
      button(`${f.active ? "▶️" : "⏸"} ${f.name}`, { _tag: "flt", op: "open", filterId: f.id }),
    ]),
    rows.length < max ? [button(t.btnNewSearch, { _tag: "fnew" })] : [],
    [button(t.btnMenu, { _tag: "menu", screen: "main" })],
  ])
  return { text, markup }
}

/** One search with what can be done to it. */
export const renderFilterCard = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  f: FilterRow,
) => ({
  text: t.searchCard(f.name, f.active, describeCriteria(t, lang, settings, f)),
  markup: keyboard([
    [
      button(t.btnEdit, { _tag: "flt", op: "edit", filterId: f.id }),
      button(t.btnRename, { _tag: "flt", op: "ren", filterId: f.id }),
    ],
    [
      f.active
        ? button(t.btnPause, { _tag: "flt", op: "pause", filterId: f.id })
        : button(t.btnResume, { _tag: "flt", op: "resume", filterId: f.id }),
      button(t.btnDelete, { _tag: "flt", op: "del", filterId: f.id }),
    ],
    [button(t.btnBack, { _tag: "menu", screen: "filters" })],
  ]),
})

export const renderDeleteConfirm = (t: Messages, f: FilterRow) => ({
  text: t.confirmDelete(f.name),
  markup: keyboard([
    [
      button(t.btnYesDelete, { _tag: "flt", op: "delok", filterId: f.id }),
      button(t.btnNoKeep, { _tag: "flt", op: "open", filterId: f.id }),
    ],
  ]),
})
