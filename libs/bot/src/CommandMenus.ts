import { Effect } from "effect"
import type { Api } from "grammy"
import type { BotCommand } from "grammy/types"
import { describeError } from "./FlatwatchBot.ts"
import type { Language } from "./Format.ts"
import { catalogs } from "./Messages.ts"

/** The command menu in `lang`: every user's commands, then (for an admin) the admin ones. */
export const commandList = (lang: Language, admin: boolean): BotCommand[] => {
  const t = catalogs[lang]
  return [...Object.entries(t.commands), ...(admin ? Object.entries(t.adminCommands) : [])].map(
    ([command, description]) => ({ command, description }),
  )
}

/**
 * Sets the command menu of one admin's chat, in both languages, so that the admin commands
 * show there and nowhere else (for everyone else they do not exist). Telegram refuses it for an
 * admin who has never started the bot ("chat not found"): that is logged, and the admin's
 * /start sets it. Never fails.
 */
export const setAdminMenu = (api: Api, adminId: number): Effect.Effect<void> => {
  const scope = { type: "chat", chat_id: adminId } as const
  return Effect.tryPromise({
    try: async () => {
      await api.setMyCommands(commandList("en", true), { scope })
      await api.setMyCommands(commandList("ru", true), { scope, language_code: "ru" })
    },
    catch: describeError,
  }).pipe(
    Effect.catchAll((why) =>
      Effect.logInfo(
        `the admin command menu of ${adminId} is not set (${why}); their /start sets it`,
      ),
    ),
  )
}
