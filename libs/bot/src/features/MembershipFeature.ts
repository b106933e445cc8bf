import { Effect } from "effect"
import { type Feature, newComposer } from "../Feature.ts"
import { Users } from "../Users.ts"

/**
 * `my_chat_member` in the private chat: a user who blocks the bot (`kicked`) is marked blocked
 * (no alerts are queued for them); one who comes back (`member`) is unmarked.
 */
export const MembershipFeature: Feature = ({ run }) => {
  const composer = newComposer()
  composer.on("my_chat_member", async (ctx) => {
    const update = ctx.myChatMember
    if (update.chat.type !== "private") return
    const status = update.new_chat_member.status
    if (status !== "kicked" && status !== "member") return
    const blocked = status === "kicked"
    await run(
      Effect.flatMap(Users, (users) => users.setBlocked(update.from.id, blocked)).pipe(
        Effect.tap((known) =>
          known
            ? Effect.logInfo(blocked ? "a user blocked the bot" : "a user unblocked the bot")
            : Effect.void,
        ),
      ),
    )
  })
  return composer
}
