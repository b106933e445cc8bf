import * as Html from "@flatwatch/telegram/Html"
import type { InlineKeyboardButton } from "grammy/types"
import type { BotSettings } from "./BotConfig.ts"
import { currencyOf, describeCriteria, groupName, marketName, marketOf } from "./FilterView.ts"
import { formatNumber, type Language } from "./Format.ts"
import { button, check, grid, keyboard } from "./Keyboards.ts"
import type { Messages } from "./Messages.ts"
import { type EditorStep, type FilterDraft, RENT_PERIODS, ROOM_CHOICES } from "./Session.ts"

/** District groups (their stored names) offered for a market; none for a market without groups. */
export const districtGroupsOf = (settings: BotSettings, market: string): ReadonlyArray<string> =>
  marketOf(settings, market)?.districtGroups.map((g) => g.name) ?? []

export const pricePicksOf = (settings: BotSettings, market: string): ReadonlyArray<number> =>
  marketOf(settings, market)?.pricePicks ?? []

/** The editor's steps for this draft: the market only when there is a choice, districts only when the market has groups. */
export const stepsOf = (settings: BotSettings, draft: Pick<FilterDraft, "market">) =>
  [
    settings.markets.length > 1 ? ("market" as const) : undefined,
    districtGroupsOf(settings, draft.market).length > 0 ? ("districts" as const) : undefined,
    "priceMin" as const,
    "priceMax" as const,
    "rooms" as const,
    "period" as const,
    "furnishing" as const,
    "summary" as const,
  ].filter((s): s is EditorStep => s !== undefined)

export const nextStep = (settings: BotSettings, draft: FilterDraft): EditorStep => {
  const steps = stepsOf(settings, draft)
  return steps[Math.min(steps.indexOf(draft.step) + 1, steps.length - 1)] ?? "summary"
}

export const previousStep = (settings: BotSettings, draft: FilterDraft): EditorStep | undefined => {
  const steps = stepsOf(settings, draft)
  const i = steps.indexOf(draft.step)
  return i > 0 ? steps[i - 1] : undefined
}

const prompt = (t: Messages, settings: BotSettings, draft: FilterDraft): string => {
  const currency = currencyOf(settings, draft.market)
  switch (draft.step) {
    case "market":
      return t.stepMarket
    case "districts":
      return t.stepDistricts
    case "priceMin":
      return t.stepPriceMin(currency)
    case "priceMax":
      return t.stepPriceMax(currency)
    case "rooms":
      return t.stepRooms
    case "period":
      return t.stepPeriod
    case "furnishing":
      return t.stepFurnishing
    case "summary":
      return t.stepSummary
  }
}

const choices = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  draft: FilterDraft,
): InlineKeyboardButton[][] => {
  switch (draft.step) {
    case "market":
      return settings.markets.map((m) => [
        button(check(draft.market === m.id, marketName(settings, m.id, lang)), {
          _tag: "e.mkt",
          market: m.id,
        }),
      ])
    case "districts":
      return [
        ...grid(
          districtGroupsOf(settings, draft.market).map((group, index) =>
            button(
              check(
                draft.districtGroups.includes(group),
                groupName(settings, draft.market, group, lang),
              ),
              { _tag: "e.dist", index },
            ),
          ),
          2,
        ),
        [
          button(check(draft.districtGroups.length === 0, t.btnAnyDistrict), {
            _tag: "e.any",
            field: "districts",
          }),
        ],
      ]
    case "priceMin":
      return [
        ...grid(
          pricePicksOf(settings, draft.market)
            .filter((p) => draft.priceMax === null || p <= draft.priceMax)
            .map((price) =>
              button(check(draft.priceMin === price, formatNumber(lang, price)), {
                _tag: "e.min",
                price,
              }),
            ),
          4,
        ),
        [button(check(draft.priceMin === null, t.btnNoMin), { _tag: "e.any", field: "min" })],
      ]
    case "priceMax":
      return [
        ...grid(
          pricePicksOf(settings, draft.market)
            .filter((p) => draft.priceMin === null || p >= draft.priceMin)
            .map((price) =>
              button(check(draft.priceMax === price, formatNumber(lang, price)), {
                _tag: "e.max",
                price,
              }),
            ),
          4,
        ),
        [button(check(draft.priceMax === null, t.btnNoMax), { _tag: "e.any", field: "max" })],
      ]
    case "rooms":
      return [
        ...grid(
          ROOM_CHOICES.map((rooms) =>
            button(check(draft.rooms.includes(rooms), t.roomName(rooms)), {
              _tag: "e.room",
              rooms,
            }),
          ),
          3,
        ),
        [button(check(draft.rooms.length === 0, t.btnAnyRooms), { _tag: "e.any", field: "rooms" })],
      ]
    case "period":
      return [
        ...grid(
          RENT_PERIODS.map((period) =>
            button(check(draft.rentPeriods.includes(period), t.periodName(period)), {
              _tag: "e.per",
              period,
            }),
          ),
          2,
        ),
        [
          button(check(draft.rentPeriods.length === 0, t.btnAnyPeriod), {
            _tag: "e.any",
            field: "periods",
          }),
        ],
      ]
    case "furnishing":
      return [
        [
          button(check(draft.furnishing === null, t.btnFurnishingAny), {
            _tag: "e.fur",
            furnishing: "any",
          }),
        ],
        [
          button(check(draft.furnishing === "furnished", t.furnishingName("furnished")), {
            _tag: "e.fur",
            furnishing: "furnished",
          }),
          button(check(draft.furnishing === "unfurnished", t.furnishingName("unfurnished")), {
            _tag: "e.fur",
            furnishing: "unfurnished",
          }),
        ],
      ]
    case "summary":
      return [
        [button(t.btnSave, { _tag: "e.save" })],
        ...grid(
          stepsOf(settings, draft)
            .filter((s) => s !== "summary" && s !== "priceMax")
            .map((step) => button(t.btnStep(step), { _tag: "e.step", step })),
          2,
        ),
        [button(t.btnName, { _tag: "e.name" })],
      ]
  }
}

/** The editor message for the draft's current step: text and keyboard. */
export const renderEditor = (
  t: Messages,
  lang: Language,
  settings: BotSettings,
  draft: FilterDraft,
) => {
  const header = draft.filterId === null ? t.editorNew : t.editorEditing(draft.name)
  const criteria = describeCriteria(t, lang, settings, draft)
  const name = draft.step === "summary" ? `🏷 ${Html.escape(draft.name)}\n` : ""
  const text = `${header}\n\n${name}${criteria}\n\n${prompt(t, settings, draft)}`
  const back = previousStep(settings, draft)
  const nav =
    draft.step === "summary"
      ? []
      : [
          back === undefined ? undefined : button(t.btnBack, { _tag: "e.step", step: back }),
          draft.step === "market" || draft.step === "furnishing"
            ? undefined
            : button(t.btnNext, { _tag: "e.step", step: nextStep(settings, draft) }),
        ].filter((b) => b !== undefined)
  const markup = keyboard([
    ...choices(t, lang, settings, draft),
    nav,
    [button(t.btnCancel, { _tag: "e.cancel" })],
  ])
  return { text, markup }
}
