import { Effect } from "effect"
import type { BotContext } from "../BotContext.ts"
import { type Feature, newComposer, onAction, telegramUserOf } from "../Feature.ts"
import { button, keyboard, mainMenu } from "../Keyboards.ts"
import { catalogs, messages } from "../Messages.ts"
import { send, show } from "../Replies.ts"
import { Users } from "../Users.ts"

/** /pause, /resume, /language and /deleteme. */
export const SettingsFeature: Feature = ({ run }) => {
  const composer = newComposer()
  const users = <A, E>(f: (users: Users) => Effect.Effect<A, E, never>) =>
    run(Effect.flatMap(Users, f))

  const setPaused = async (ctx: BotContext, paused: boolean) => {
    const userId = ctx.from?.id
    if (userId === undefined) return
    const known = await users((u) => u.setPaused(userId, paused))
    await send(ctx, {
      text: known ? (paused ? ctx.t.pausedAll : ctx.t.resumedAll) : ctx.t.needStart,
    })
  }
  composer.command("pause", (ctx) => setPaused(ctx, true))
  composer.command("resume", (ctx) => setPaused(ctx, false))

  const languagePicker = (ctx: BotContext) => ({
    text: ctx.t.chooseLanguage,
    markup: keyboard([
      [
        button(catalogs.ru.languageName, { _tag: "lang", language: "ru" }),
        button(catalogs.en.languageName, { _tag: "lang", language: "en" }),
      ],
    ]),
  })
  composer.command("language", (ctx) => send(ctx, languagePicker(ctx)))
  onAction(
    composer,
    "menu",
    (ctx) => show(ctx, languagePicker(ctx)),
    (a) => a.screen === "lang",
  )

  onAction(composer, "lang", async (ctx, { language }) => {
    const from = telegramUserOf(ctx)
    if (from === undefined) return
    await users((u) =>
      Effect.gen(function* () {
        if ((yield* u.get(from.id)) === undefined) yield* u.upsert({ ...from, language })
        yield* u.setLanguage(from.id, language)
      }),
    )
    ctx.lang = language
    ctx.t = messages(language)
    await show(ctx, { text: `${ctx.t.languageSet}\n\n${ctx.t.menuTitle}`, markup: mainMenu(ctx.t) })
  })

  composer.command("deleteme", (ctx) =>
    send(ctx, {
      text: ctx.t.deleteConfirm,
      markup: keyboard([
        [
          button(ctx.t.btnDeleteYes, { _tag: "del", answer: "yes" }),
          button(ctx.t.btnDeleteNo, { _tag: "del", answer: "no" }),
        ],
      ]),
    }),
  )

  onAction(composer, "del", async (ctx, { answer }) => {
    if (answer === "no") return show(ctx, { text: ctx.t.deleteCancelled })
    await users((u) => u.erase(ctx.from.id))
    // Nothing of the session is written back either.
    ctx.session = undefined as unknown as typeof ctx.session
    ctx.user = undefined
    await run(Effect.logInfo("a user erased their data (/deleteme)"))
    return show(ctx, { text: ctx.t.deleteDone })
  })

  return composer
}
