import { type Feature, newComposer } from "../Feature.ts"
import { mainMenu } from "../Keyboards.ts"
import { answer, send } from "../Replies.ts"

/**
 * What a person can write or send. Service messages (a refund, a new chat background, write
 * access granted, ...) are not addressed to the bot: answering them "I did not understand"
 * would be nonsense.
 */
const WRITTEN = [
  "message:text",
  "message:photo",
  "message:sticker",
  "message:document",
  "message:video",
  "message:voice",
  "message:audio",
  "message:animation",
  "message:video_note",
  "message:contact",
  "message:location",
  "message:venue",
  "message:poll",
  "message:dice",
  "message:story",
] as const

/**
 * Last in line: a button nobody handled (unknown, forged or out of date) gets a polite answer;
 * a message nobody understood (including admin commands from non-admins) gets a hint and the
 * menu. Service messages and other updates are ignored.
 */
export const FallbackFeature: Feature = () => {
  const composer = newComposer()
  composer.on("callback_query", (ctx) => answer(ctx, ctx.t.stale, true))
  composer.on([...WRITTEN], (ctx) => send(ctx, { text: ctx.t.unknown, markup: mainMenu(ctx.t) }))
  return composer
}
