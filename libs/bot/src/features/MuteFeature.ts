import { Effect } from "effect"
import { type Feature, newComposer, onAction } from "../Feature.ts"
import { Filters } from "../Filters.ts"
import { button, keyboard } from "../Keyboards.ts"
import { answer, edit, send } from "../Replies.ts"

/**
 * The "mute this filter" button under a listing alert (`mute:<filterId>`, rendered by the
 * delivery side): pauses that filter, with an Undo button. Only the owner's presses count.
 */
export const MuteFeature: Feature = ({ run }) => {
  const composer = newComposer()

  onAction(composer, "mute", async (ctx, { filterId }) => {
    const muted = await run(
      Effect.flatMap(Filters, (f) => f.setActive(ctx.from.id, filterId, false)),
    )
    if (muted === undefined) return answer(ctx, ctx.t.stale, true)
    answer(ctx, ctx.t.mutedToast)
    await send(ctx, {
      text: ctx.t.muted(muted.name),
      markup: keyboard([[button(ctx.t.btnUndo, { _tag: "unmute", filterId })]]),
    })
  })

  onAction(composer, "unmute", async (ctx, { filterId }) => {
    const active = await run(
      Effect.flatMap(Filters, (f) => f.setActive(ctx.from.id, filterId, true)),
    )
    if (active === undefined) return answer(ctx, ctx.t.stale, true)
    answer(ctx, ctx.t.unmuted(active.name))
    const messageId = ctx.callbackQuery.message?.message_id
    if (messageId !== undefined) await edit(ctx, messageId, { text: ctx.t.unmuted(active.name) })
  })

  return composer
}
