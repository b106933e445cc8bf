import { Effect } from "effect"
import { GrammyError, type InlineKeyboard } from "grammy"
import type { BotContext } from "./BotContext.ts"
import { describeError } from "./FlatwatchBot.ts"

export interface Screen {
  readonly text: string
  readonly markup?: InlineKeyboard
}

const isNotModified = (e: unknown) =>
  e instanceof GrammyError && e.description.includes("message is not modified")

/** Sends `screen` as a new HTML message. Returns the message id. */
export const send = async (ctx: BotContext, screen: Screen): Promise<number> => {
  const message = await ctx.reply(screen.text, {
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
    ...(screen.markup === undefined ? {} : { reply_markup: screen.markup }),
  })
  return message.message_id
}

/** Replaces a message of the bot in this chat (pressing the same button twice is not an error). */
export const edit = async (ctx: BotContext, messageId: number, screen: Screen): Promise<void> => {
  const chatId = ctx.chat?.id
  if (chatId === undefined) return
  try {
    await ctx.api.editMessageText(chatId, messageId, screen.text, {
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      ...(screen.markup === undefined ? {} : { reply_markup: screen.markup }),
    })
  } catch (e) {
    if (!isNotModified(e)) throw e
  }
}

/**
 * Shows a screen in place of the message whose button was pressed, or as a new message when the
 * update is a typed message. Returns the id of the message that now shows it.
 */
export const show = async (ctx: BotContext, screen: Screen): Promise<number> => {
  const pressed = ctx.callbackQuery?.message?.message_id
  if (pressed === undefined) return send(ctx, screen)
  await edit(ctx, pressed, screen)
  return pressed
}

/** Removes the buttons of an older message (so they cannot be pressed any more). */
export const dropKeyboard = async (ctx: BotContext, messageId: number): Promise<void> => {
  const chatId = ctx.chat?.id
  if (chatId === undefined) return
  try {
    await ctx.api.editMessageReplyMarkup(chatId, messageId, {
      reply_markup: { inline_keyboard: [] },
    })
  } catch (e) {
    // A 400 is expected (too old to edit, already without buttons): nothing to undo. Anything
    // else (a network error, a 429) leaves stale buttons behind, which presses refuse anyway.
    if (!(e instanceof GrammyError && e.error_code === 400)) {
      await ctx.run(
        Effect.logWarning(`removing an old message's buttons failed: ${describeError(e)}`),
      )
    }
  }
}

/**
 * Sets the answer to the pressed button (a toast, or an alert box when `alert`); it is sent when
 * the handler is done. Without a call, the press gets an empty answer.
 */
export const answer = (ctx: BotContext, text?: string, alert = false): void => {
  ctx.callbackAnswer = text === undefined ? { alert } : { text, alert }
}
