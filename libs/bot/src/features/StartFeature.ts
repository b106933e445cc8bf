import * as Html from "@flatwatch/telegram/Html"
import { Effect } from "effect"
import { setAdminMenu } from "../CommandMenus.ts"
import { type Feature, newComposer, onAction, telegramUserOf } from "../Feature.ts"
import { backToMenu, mainMenu } from "../Keyboards.ts"
import { messages } from "../Messages.ts"
import { send, show } from "../Replies.ts"
import { tellAdmins } from "../Tell.ts"
import { Users } from "../Users.ts"

/** /start, the main menu, /help, /terms and /paysupport. */
export const StartFeature: Feature = ({ settings, run }) => {
  const composer = newComposer()

  composer.command("start", async (ctx) => {
    const from = telegramUserOf(ctx)
    if (from === undefined) return
    const user = await run(Effect.flatMap(Users, (users) => users.upsert(from)))
    ctx.user = user
    ctx.lang = user.language
    ctx.t = messages(user.language)
    // Also set for someone back after /deleteme (Users.upsert reads the kept trial hash).
    const trialAvailable = user.trialUsedAt === null
    await send(ctx, {
      text: ctx.t.greeting(ctx.from?.first_name ?? "", trialAvailable),
      markup: mainMenu(ctx.t),
    })
    // An admin who had not started the bot when it started gets their menu now.
    if (ctx.isAdmin) await run(setAdminMenu(ctx.api, user.id))
  })

  onAction(
    composer,
    "menu",
    (ctx) => show(ctx, { text: ctx.t.menuTitle, markup: mainMenu(ctx.t) }),
    (a) => a.screen === "main",
  )
  onAction(
    composer,
    "menu",
    (ctx) => show(ctx, { text: ctx.t.help, markup: backToMenu(ctx.t) }),
    (a) => a.screen === "help",
  )

  composer.command("help", (ctx) => send(ctx, { text: ctx.t.help, markup: mainMenu(ctx.t) }))
  composer.command("terms", (ctx) => send(ctx, { text: ctx.t.terms }))

  composer.command("paysupport", async (ctx) => {
    const text = ctx.match.trim()
    if (text.length === 0) return send(ctx, { text: ctx.t.paySupport })
    const from = ctx.from
    if (from === undefined) return
    const name = from.username === undefined ? from.first_name : `@${from.username}`
    const delivered = await tellAdmins(ctx, settings.telegram.adminIds, (t) =>
      t.paySupportToAdmin(from.id, name, Html.truncate(text, 3000)),
    )
    await send(ctx, { text: delivered > 0 ? ctx.t.paySupportSent : ctx.t.error })
  })

  return composer
}
