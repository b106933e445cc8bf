import { Effect } from "effect"
import type { BotContext } from "../BotContext.ts"
import {
  cleanName,
  type Feature,
  isPlainText,
  newComposer,
  onAction,
  telegramUserOf,
} from "../Feature.ts"
import { Filters } from "../Filters.ts"
import { renderDeleteConfirm, renderFilterCard, renderFilterList } from "../FilterView.ts"
import { answer, send, show } from "../Replies.ts"
import type { FilterDraft } from "../Session.ts"
import { Users } from "../Users.ts"
import { draftOfFilter, openEditor, stepsOf } from "./EditorFeature.ts"

/** /filters: the list of searches, each search's card, rename, pause/resume and delete. */
export const FiltersFeature: Feature = (deps) => {
  const { settings, run } = deps
  const composer = newComposer()
  const filters = <A, E>(f: (filters: Filters) => Effect.Effect<A, E, never>) =>
    run(Effect.flatMap(Filters, f))

  const list = async (ctx: BotContext, inPlace: boolean) => {
    const userId = ctx.from?.id
    if (userId === undefined) return
    const rows = await filters((f) => f.list(userId))
    const paused = ctx.user?.pausedAt != null
    const screen = renderFilterList(ctx.t, ctx.lang, settings, rows, paused)
    await (inPlace ? show(ctx, screen) : send(ctx, screen))
  }

  composer.command("filters", (ctx) => list(ctx, false))
  onAction(
    composer,
    "menu",
    (ctx) => list(ctx, true),
    (a) => a.screen === "filters",
  )

  onAction(composer, "fnew", async (ctx) => {
    const from = telegramUserOf(ctx)
    if (from === undefined) return
    const existing = await filters((f) => f.list(from.id))
    if (existing.length >= settings.maxFiltersPerUser) {
      return answer(ctx, ctx.t.limitReached(settings.maxFiltersPerUser), true)
    }
    // Saving needs the user's row; a user who never sent /start gets it now.
    if (ctx.user === undefined) ctx.user = await run(Effect.flatMap(Users, (u) => u.upsert(from)))
    const taken = new Set(existing.map((f) => f.name))
    let n = existing.length + 1
    while (taken.has(ctx.t.defaultSearchName(n))) n++
    const market = settings.markets[0]?.id ?? "dubai"
    const draft: FilterDraft = {
      filterId: null,
      name: ctx.t.defaultSearchName(n),
      market,
      districtGroups: [],
      priceMin: null,
      priceMax: null,
      rooms: [],
      rentPeriods: [],
      furnishing: null,
      step: stepsOf(settings, { market })[0] ?? "summary",
      messageId: null,
    }
    await openEditor(ctx, settings, draft, "in-place")
  })

  /** The filter the button names, if the presser owns it; otherwise a polite refusal. */
  const ownedOrRefuse = async (ctx: BotContext, filterId: number) => {
    const userId = ctx.from?.id
    const row = userId === undefined ? undefined : await filters((f) => f.owned(userId, filterId))
    if (row === undefined) answer(ctx, ctx.t.stale, true)
    return row
  }

  onAction(composer, "flt", async (ctx, { op, filterId }) => {
    const userId = ctx.from.id
    const row = await ownedOrRefuse(ctx, filterId)
    if (row === undefined) return
    switch (op) {
      case "open":
        return show(ctx, renderFilterCard(ctx.t, ctx.lang, settings, row))
      case "edit":
        return openEditor(ctx, settings, draftOfFilter(row), "in-place")
      case "ren":
        ctx.session = { ...ctx.session, awaiting: { _tag: "rename", filterId } }
        return send(ctx, { text: ctx.t.askRename(row.name) })
      case "pause":
      case "resume": {
        const updated = await filters((f) => f.setActive(userId, filterId, op === "resume"))
        if (updated === undefined) return answer(ctx, ctx.t.stale, true)
        await answer(
          ctx,
          op === "pause" ? ctx.t.searchPaused(updated.name) : ctx.t.searchResumed(updated.name),
        )
        return show(ctx, renderFilterCard(ctx.t, ctx.lang, settings, updated))
      }
      case "del":
        return show(ctx, renderDeleteConfirm(ctx.t, row))
      case "delok": {
        const removed = await filters((f) => f.remove(userId, filterId))
        if (removed === undefined) return answer(ctx, ctx.t.stale, true)
        if (ctx.session.draft?.filterId === filterId) {
          const { draft: _, ...rest } = ctx.session
          ctx.session = rest
        }
        answer(ctx, ctx.t.deleted(removed.name))
        return list(ctx, true)
      }
    }
  })

  // The new name typed after "Rename".
  composer.on("message:text").filter(
    (ctx) => isPlainText(ctx) && ctx.session.awaiting?._tag === "rename",
    async (ctx) => {
      const awaiting = ctx.session.awaiting
      if (awaiting?._tag !== "rename") return
      const name = cleanName(ctx.message.text)
      if (name === undefined) return send(ctx, { text: ctx.t.badName })
      const { awaiting: _, ...rest } = ctx.session
      ctx.session = rest
      const renamed = await filters((f) => f.rename(ctx.from.id, awaiting.filterId, name))
      if (renamed === undefined) return send(ctx, { text: ctx.t.stale })
      await send(ctx, { text: ctx.t.renamed(renamed.name) })
      return list(ctx, false)
    },
  )

  return composer
}
