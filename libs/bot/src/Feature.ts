import { Composer, type Filter } from "grammy"
import type { BotContext, FeatureDeps } from "./BotContext.ts"
import type { Action } from "./CallbackData.ts"
import { languageFromTelegram } from "./Format.ts"
import type { TelegramUser } from "./Users.ts"

/** A feature of the bot: one Composer, built from the shared dependencies. */
export type Feature = (deps: FeatureDeps) => Composer<BotContext>

export type ActionOf<T extends Action["_tag"]> = Extract<Action, { _tag: T }>

/**
 * Handles presses of buttons whose decoded action has tag `tag` (and satisfies `when`); other
 * updates pass on. The handler gets the decoded, typed action (never the raw callback data).
 */
export const onAction = <T extends Action["_tag"]>(
  composer: Composer<BotContext>,
  tag: T,
  handler: (ctx: Filter<BotContext, "callback_query">, action: ActionOf<T>) => Promise<unknown>,
  when: (action: ActionOf<T>) => boolean = () => true,
): void => {
  composer.on("callback_query").filter(
    (ctx) => ctx.action?._tag === tag && when(ctx.action as ActionOf<T>),
    (ctx) => handler(ctx, ctx.action as ActionOf<T>),
  )
}

/** The sender of an update as the users table stores them. */
export const telegramUserOf = (ctx: BotContext): TelegramUser | undefined => {
  const from = ctx.from
  if (from === undefined) return undefined
  return {
    id: from.id,
    chatId: ctx.chat?.id ?? from.id,
    username: from.username ?? null,
    firstName: from.first_name,
    language: languageFromTelegram(from.language_code),
  }
}

/** Plain text of a message that is not a command (for typed input). */
export const isPlainText = (ctx: BotContext): boolean =>
  ctx.message?.text !== undefined && ctx.message.entities?.[0]?.type !== "bot_command"

export const newComposer = () => new Composer<BotContext>()

/** A search name as typed: whitespace collapsed; undefined unless 1-64 characters remain. */
export const cleanName = (text: string): string | undefined => {
  const name = text.replace(/\s+/g, " ").trim()
  return name.length >= 1 && [...name].length <= 64 ? name : undefined
}
