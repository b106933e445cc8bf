import { Database } from "@flatwatch/db/Database"
import { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import * as Html from "@flatwatch/telegram/Html"
import { formatPrice } from "@flatwatch/telegram/ListingAlert"
import { Effect, Either } from "effect"
import type { BotSettings } from "../BotConfig.ts"
import type { BotContext } from "../BotContext.ts"
import { districtGroupsOf, nextStep, renderEditor, stepsOf } from "../EditorView.ts"
import {
  type ActionOf,
  cleanName,
  type Feature,
  isPlainText,
  newComposer,
  onAction,
  telegramUserOf,
} from "../Feature.ts"
import { type FilterLimitReached, type FilterRow, Filters, valuesOfDraft } from "../Filters.ts"
import { currencyOf, marketOf } from "../FilterView.ts"
import { button, keyboard } from "../Keyboards.ts"
import { parsePrice } from "../PriceInput.ts"
import { answer, dropKeyboard, edit, send, show } from "../Replies.ts"
import type { FilterDraft } from "../Session.ts"
import { Users } from "../Users.ts"

export { stepsOf }

/** A draft of an existing filter, opened at its summary. */
export const draftOfFilter = (f: FilterRow): FilterDraft => ({
  filterId: f.id,
  name: f.name,
  market: f.market,
  districtGroups: f.districtGroups,
  priceMin: f.priceMin,
  priceMax: f.priceMax,
  rooms: f.rooms,
  rentPeriods: f.rentPeriods,
  furnishing: f.furnishing,
  step: "summary",
  messageId: null,
})

/**
 * Stores the draft in the session and shows it: in place of the pressed message, or as a new
 * message (after typed input); the new message becomes the editor and the old one loses its
 * buttons.
 */
export const openEditor = async (
  ctx: BotContext,
  settings: BotSettings,
  draft: FilterDraft,
  where: "in-place" | "new",
): Promise<void> => {
  const screen = renderEditor(ctx.t, ctx.lang, settings, draft)
  const pressed = ctx.callbackQuery?.message?.message_id
  if (where === "in-place" && pressed !== undefined) {
    ctx.session = { ...ctx.session, draft: { ...draft, messageId: pressed } }
    await edit(ctx, pressed, screen)
    return
  }
  const messageId = await send(ctx, screen)
  ctx.session = { ...ctx.session, draft: { ...draft, messageId } }
  if (draft.messageId !== null && draft.messageId !== messageId) {
    await dropKeyboard(ctx, draft.messageId)
  }
}

const maxPriceOf = (settings: BotSettings, market: string) =>
  marketOf(settings, market)?.maxPrice ?? Number.MAX_SAFE_INTEGER

const toggle = <A>(values: ReadonlyArray<A>, value: A): ReadonlyArray<A> =>
  values.includes(value) ? values.filter((v) => v !== value) : [...values, value]

type EditorAction = ActionOf<
  | "e.step"
  | "e.mkt"
  | "e.dist"
  | "e.room"
  | "e.per"
  | "e.fur"
  | "e.min"
  | "e.max"
  | "e.any"
  | "e.name"
  | "e.save"
  | "e.cancel"
>
const EDITOR_TAGS: ReadonlyArray<EditorAction["_tag"]> = [
  "e.step",
  "e.mkt",
  "e.dist",
  "e.room",
  "e.per",
  "e.fur",
  "e.min",
  "e.max",
  "e.any",
  "e.name",
  "e.save",
  "e.cancel",
]

/** The inline-keyboard filter editor: one message edited in place, and typed prices and names. */
export const EditorFeature: Feature = ({ settings, run }) => {
  const composer = newComposer()

  /** A price check shared by quick picks and typed numbers; the error text, or undefined. */
  const priceProblem = (
    ctx: BotContext,
    draft: FilterDraft,
    bound: "min" | "max",
    price: number,
  ): string | undefined => {
    const fmt = (n: number) => formatPrice(n, currencyOf(settings, draft.market), ctx.lang)
    const max = maxPriceOf(settings, draft.market)
    if (price > max) return ctx.t.priceTooLarge(fmt(max))
    if (bound === "min" && draft.priceMax !== null && price > draft.priceMax) {
      return ctx.t.priceMinAboveMax(fmt(price), fmt(draft.priceMax))
    }
    if (bound === "max" && draft.priceMin !== null && price < draft.priceMin) {
      return ctx.t.priceMaxBelowMin(fmt(price), fmt(draft.priceMin))
    }
    return undefined
  }

  /** The next draft after a press, or an error text for an alert (nothing changes then). */
  const apply = (
    ctx: BotContext,
    draft: FilterDraft,
    action: EditorAction,
  ): FilterDraft | { readonly refuse: string } => {
    switch (action._tag) {
      case "e.step":
        return stepsOf(settings, draft).includes(action.step)
          ? { ...draft, step: action.step }
          : { refuse: ctx.t.stale }
      case "e.mkt": {
        if (!settings.markets.some((m) => m.id === action.market)) return { refuse: ctx.t.stale }
        const changed = action.market !== draft.market
        const next: FilterDraft = changed
          ? { ...draft, market: action.market, districtGroups: [], priceMin: null, priceMax: null }
          : draft
        return { ...next, step: nextStep(settings, next) }
      }
      case "e.dist": {
        const group = districtGroupsOf(settings, draft.market)[action.index]
        if (group === undefined) return { refuse: ctx.t.stale }
        return { ...draft, districtGroups: toggle(draft.districtGroups, group) }
      }
      case "e.room":
        return { ...draft, rooms: toggle(draft.rooms, action.rooms) }
      case "e.per":
        return { ...draft, rentPeriods: toggle(draft.rentPeriods, action.period) }
      case "e.fur": {
        const next = {
          ...draft,
          furnishing: action.furnishing === "any" ? null : action.furnishing,
        }
        return { ...next, step: nextStep(settings, next) }
      }
      case "e.min":
      case "e.max": {
        const bound = action._tag === "e.min" ? "min" : "max"
        const problem = priceProblem(ctx, draft, bound, action.price)
        if (problem !== undefined) return { refuse: problem }
        const next =
          bound === "min"
            ? { ...draft, priceMin: action.price }
            : { ...draft, priceMax: action.price }
        return { ...next, step: nextStep(settings, next) }
      }
      case "e.any":
        switch (action.field) {
          case "districts":
            return { ...draft, districtGroups: [] }
          case "rooms":
            return { ...draft, rooms: [] }
          case "periods":
            return { ...draft, rentPeriods: [] }
          case "min": {
            const next = { ...draft, priceMin: null }
            return { ...next, step: nextStep(settings, next) }
          }
          case "max": {
            const next = { ...draft, priceMax: null }
            return { ...next, step: nextStep(settings, next) }
          }
        }
        return draft
      case "e.name":
      case "e.save":
      case "e.cancel":
        return draft
    }
  }

  const save = async (ctx: BotContext, draft: FilterDraft) => {
    const from = telegramUserOf(ctx)
    if (from === undefined) return
    if (ctx.user === undefined) ctx.user = await run(Effect.flatMap(Users, (u) => u.upsert(from)))
    const values = valuesOfDraft(draft)
    // One transaction: the search, the trial it may start, and what the reply says. If anything
    // fails, nothing is stored and the draft stays, so pressing Save again is safe.
    const saved = await run(
      Database.transaction(
        Effect.gen(function* () {
          const filters = yield* Filters
          const subscriptions = yield* Subscriptions
          const created = draft.filterId === null
          const row =
            draft.filterId === null
              ? yield* filters.create(from.id, values, settings.maxFiltersPerUser)
              : yield* filters.update(from.id, draft.filterId, values)
          // Updating a search deleted meanwhile (from another message) finds no row.
          if (row === undefined) return { gone: true as const }
          const matches = yield* filters.recentMatches(row.id)
          // Only the very first saved search of a Telegram id starts the trial (idempotent).
          const trial = created
            ? yield* subscriptions.startTrial(from.id)
            : { granted: false as const }
          const status = yield* subscriptions.status(from.id)
          return { row, matches, trial, status }
        }),
      ).pipe(
        Effect.catchTag("FilterLimitReached", (e: FilterLimitReached) =>
          Effect.succeed({ limit: e.limit }),
        ),
      ),
    )
    if ("limit" in saved) {
      return answer(ctx, ctx.t.limitReached(saved.limit), true)
    }
    const { draft: _, awaiting: __, ...rest } = ctx.session
    ctx.session = rest
    if ("gone" in saved) {
      answer(ctx, ctx.t.stale, true)
      return show(ctx, { text: ctx.t.stale, markup: afterSaveKeyboard(ctx, true) })
    }
    const { row, ...outcome } = saved
    const paused = ctx.user?.pausedAt != null ? `\n\n${ctx.t.pausedAll}` : ""
    const extra = outcome.trial.granted
      ? `\n\n${ctx.t.trialStarted(formatDateTime(ctx.lang, outcome.trial.endsAt, settings.timeZone))}`
      : outcome.status.hasAccess
        ? ""
        : `\n\n${ctx.t.noAccess}`
    await show(ctx, {
      text: ctx.t.saved(row.name, outcome.matches) + extra + paused,
      markup: afterSaveKeyboard(ctx, outcome.status.hasAccess),
    })
  }

  const afterSaveKeyboard = (ctx: BotContext, hasAccess: boolean) =>
    keyboard([
      [button(ctx.t.btnSearches, { _tag: "menu", screen: "filters" })],
      hasAccess ? [] : [button(ctx.t.btnSubscription, { _tag: "menu", screen: "sub" })],
      [button(ctx.t.btnMenu, { _tag: "menu", screen: "main" })],
    ])

  for (const tag of EDITOR_TAGS) {
    onAction(composer, tag, async (ctx, action: EditorAction) => {
      const draft = ctx.session.draft
      // Only the editor message of the presser's own draft can be pressed; anything else is stale.
      if (draft === undefined || draft.messageId !== ctx.callbackQuery.message?.message_id) {
        return answer(ctx, ctx.t.stale, true)
      }
      switch (action._tag) {
        case "e.save":
          return save(ctx, draft)
        case "e.cancel": {
          const { draft: _, awaiting: __, ...rest } = ctx.session
          ctx.session = rest
          return show(ctx, {
            text: ctx.t.editorCancelled,
            markup: keyboard([
              [button(ctx.t.btnSearches, { _tag: "menu", screen: "filters" })],
              [button(ctx.t.btnMenu, { _tag: "menu", screen: "main" })],
            ]),
          })
        }
        case "e.name":
          ctx.session = { ...ctx.session, awaiting: { _tag: "draftName" } }
          return send(ctx, { text: ctx.t.askDraftName })
        default: {
          const next = apply(ctx, draft, action)
          if ("refuse" in next) return answer(ctx, next.refuse, true)
          return openEditor(ctx, settings, next, "in-place")
        }
      }
    })
  }

  // A name typed after "Name".
  composer.on("message:text").filter(
    (ctx) =>
      isPlainText(ctx) &&
      ctx.session.awaiting?._tag === "draftName" &&
      ctx.session.draft !== undefined,
    async (ctx) => {
      const draft = ctx.session.draft
      if (draft === undefined) return
      const name = cleanName(ctx.message.text)
      if (name === undefined) return send(ctx, { text: ctx.t.badName })
      const { awaiting: _, ...rest } = ctx.session
      ctx.session = rest
      return openEditor(ctx, settings, { ...draft, name, step: "summary" }, "new")
    },
  )

  // A price typed at the price steps.
  composer.on("message:text").filter(
    (ctx) =>
      isPlainText(ctx) &&
      (ctx.session.draft?.step === "priceMin" || ctx.session.draft?.step === "priceMax"),
    async (ctx) => {
      const draft = ctx.session.draft
      if (draft === undefined) return
      const bound = draft.step === "priceMin" ? "min" : "max"
      const currency = currencyOf(settings, draft.market)
      const fmt = (n: number) => formatPrice(n, currency, ctx.lang)
      const parsed = parsePrice(ctx.message.text, maxPriceOf(settings, draft.market))
      const problem = Either.match(parsed, {
        onLeft: (e) =>
          e._tag === "NotANumber"
            ? ctx.t.priceNotNumber(Html.truncate(ctx.message.text, 40), currency)
            : e._tag === "Negative"
              ? ctx.t.priceNegative(currency)
              : ctx.t.priceTooLarge(fmt(e.max)),
        onRight: (price) => priceProblem(ctx, draft, bound, price),
      })
      if (problem !== undefined || Either.isLeft(parsed)) {
        return send(ctx, { text: problem ?? ctx.t.error })
      }
      const next =
        bound === "min"
          ? { ...draft, priceMin: parsed.right }
          : { ...draft, priceMax: parsed.right }
      return openEditor(ctx, settings, { ...next, step: nextStep(settings, next) }, "new")
    },
  )

  return composer
}
