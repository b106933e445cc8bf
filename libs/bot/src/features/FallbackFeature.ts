import { type Feature, newComposer } from "../Feature.ts"
import { mainMenu } from "../Keyboards.ts"
import { answer, send } from "../Replies.ts"

/**
 * Last in line: a button nobody handled (unknown, forged or out of date) gets a polite answer;
 * a message nobody understood (including admin commands from non-admins) gets a hint and the
 * menu. Other updates are ignored.
 */
export const FallbackFeature: Feature = () => {
  const composer = newComposer()
  composer.on("callback_query", (ctx) => answer(ctx, ctx.t.stale, true))
  composer.on("message", (ctx) => send(ctx, { text: ctx.t.unknown, markup: mainMenu(ctx.t) }))
  return composer
}
