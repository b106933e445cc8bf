import type { PlanId } from "@flatwatch/subscriptions/Plans"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import { Effect } from "effect"
import type { BotContext } from "./BotContext.ts"
import { describeError } from "./FlatwatchBot.ts"
import type { Language } from "./Format.ts"
import { type Messages, messages } from "./Messages.ts"
import { Users } from "./Users.ts"

/**
 * A message to another chat than the one being answered (a grant, a refund, an admin notice),
 * in `language`. A failure (the user blocked the bot, an admin never started it) is logged and
 * never fails the handler. Returns whether Telegram accepted it.
 */
export const tell = async (
  ctx: BotContext,
  chatId: number,
  text: (t: Messages) => string,
  language: Language,
): Promise<boolean> => {
  try {
    await ctx.api.sendMessage(chatId, text(messages(language)), { parse_mode: "HTML" })
    return true
  } catch (e) {
    await ctx.run(Effect.logWarning(`telling a user failed: ${describeError(e)}`))
    return false
  }
}

/**
 * The same notice to every admin of `ADMIN_IDS`, each in their own language as far as the bot
 * knows it (English for an admin who never started it). Returns how many admins got it.
 */
export const tellAdmins = async (
  ctx: BotContext,
  adminIds: ReadonlyArray<number>,
  text: (t: Messages) => string,
): Promise<number> => {
  let delivered = 0
  for (const adminId of adminIds) {
    const admin = await ctx.run(
      Effect.flatMap(Users, (users) => users.get(adminId)).pipe(
        // The notice matters more than its language (it may be about a database failure).
        Effect.catchAll((e) =>
          Effect.logWarning(`reading the language of admin ${adminId} failed: ${e.message}`).pipe(
            Effect.as(undefined),
          ),
        ),
      ),
    )
    if (await tell(ctx, admin?.chatId ?? adminId, text, admin?.language ?? "en")) delivered++
  }
  return delivered
}

/**
 * Tells the payer that a payment was refunded, and until when they still have access (in
 * `timeZone`, `TIME_ZONE` from the bot's settings).
 */
export const tellRefunded = async (
  ctx: BotContext,
  refund: { readonly userId: number; readonly plan: PlanId; readonly endsAt: Date | null },
  stars: number,
  timeZone: string,
): Promise<void> => {
  const payer = await ctx.run(Effect.flatMap(Users, (users) => users.get(refund.userId)))
  if (payer === undefined) return
  const { endsAt } = refund
  await tell(
    ctx,
    payer.chatId,
    (t) =>
      t.refunded(
        refund.plan,
        stars,
        endsAt === null ? null : formatDateTime(t.language, endsAt, timeZone),
      ),
    payer.language,
  )
}
