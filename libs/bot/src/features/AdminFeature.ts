import { randomBytes } from "node:crypto"
import { Payments } from "@flatwatch/subscriptions/Payments"
import { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import * as Html from "@flatwatch/telegram/Html"
import { Effect, Either } from "effect"
import { AdminQueries } from "../AdminQueries.ts"
import { type Feature, newComposer, onAction } from "../Feature.ts"
import { describeError } from "../FlatwatchBot.ts"
import { formatNumber, type Language } from "../Format.ts"
import { button, keyboard } from "../Keyboards.ts"
import type { RefundRefusal } from "../Messages.ts"
import { answer, send, show } from "../Replies.ts"
import { tell, tellRefunded } from "../Tell.ts"
import { Users } from "../Users.ts"

const MAX_BROADCAST = 3500

/**
 * Admin commands, for `ADMIN_IDS` only: /stats, /sources, /broadcast, /grant, /refund. For anyone else
 * these updates pass through untouched, so they meet the fallback like any unknown command.
 */
export const AdminFeature: Feature = ({ settings, run }) => {
  const composer = newComposer()
  const date = (lang: Language, d: Date) => formatDateTime(lang, d, settings.timeZone)
  const admin = composer.filter((ctx) => ctx.isAdmin)

  admin.command("stats", async (ctx) => {
    const s = await run(Effect.flatMap(AdminQueries, (q) => q.stats()))
    const n = (v: number) => formatNumber(ctx.lang, v)
    await send(ctx, {
      text: ctx.t.adminStats({
        users: n(s.users),
        blocked: n(s.blocked),
        subscribers: n(s.subscribers),
        trials: n(s.trials),
        filters: n(s.activeFilters),
        listingsToday: n(s.listingsToday),
        sent24h: n(s.sent24h),
        failed24h: n(s.failed24h),
        outbox: n(s.outbox),
      }),
    })
  })

  admin.command("sources", async (ctx) => {
    const sources = await run(Effect.flatMap(AdminQueries, (q) => q.sources()))
    const when = (d: Date | null) => (d === null ? "—" : date(ctx.lang, d))
    await send(ctx, {
      text:
        sources.length === 0
          ? ctx.t.adminNoSources
          : ctx.t.adminSources(
              sources.map((s) => ({
                source: s.source,
                status: s.status,
                lastRun: when(s.lastRunAt),
                lastSuccess: when(s.lastSuccessAt),
                lastOutcome: s.lastOutcome ?? "—",
                error: s.lastError === null ? null : Html.truncate(s.lastError, 300),
                browserSince: s.browserSince === null ? null : when(s.browserSince),
                via: s.via,
              })),
            ),
    })
  })

  admin.command("broadcast", async (ctx) => {
    const text = ctx.match.trim()
    if (text.length === 0) return send(ctx, { text: ctx.t.broadcastUsage })
    // Telegram's limit is 4096 characters (as shown, after entities); the preview adds a header.
    if (text.length > MAX_BROADCAST) {
      return send(ctx, { text: ctx.t.broadcastTooLong(MAX_BROADCAST) })
    }
    const id = randomBytes(6).toString("hex")
    const recipients = await run(Effect.flatMap(AdminQueries, (q) => q.broadcastRecipients()))
    ctx.session = { ...ctx.session, broadcast: { id, text } }
    await send(ctx, {
      text: ctx.t.broadcastPreview(recipients, text),
      markup: keyboard([
        [
          button(ctx.t.btnBroadcastSend(recipients), {
            _tag: "bc",
            answer: "send",
            broadcastId: id,
          }),
        ],
        [button(ctx.t.btnCancel, { _tag: "bc", answer: "cancel", broadcastId: id })],
      ]),
    })
  })

  onAction(admin, "bc", async (ctx, { answer: choice, broadcastId }) => {
    const pending = ctx.session.broadcast
    if (pending === undefined || pending.id !== broadcastId) {
      return answer(ctx, ctx.t.stale, true)
    }
    const { broadcast: _, ...rest } = ctx.session
    ctx.session = rest
    if (choice === "cancel") return show(ctx, { text: ctx.t.broadcastCancelled })
    // Sent as written: the admin's text is escaped, like any user text.
    const queued = await run(
      Effect.flatMap(AdminQueries, (q) =>
        q.enqueueBroadcast(pending.id, Html.escape(pending.text)),
      ).pipe(Effect.tap((n) => Effect.logInfo(`broadcast ${pending.id} queued for ${n} users`))),
    )
    return show(ctx, { text: `${ctx.t.broadcastQueued(queued)}\n\n${Html.escape(pending.text)}` })
  })

  admin.command("grant", async (ctx) => {
    const match = /^(\d{1,16})\s+(\d{1,4})$/.exec(ctx.match.trim())
    const userId = Number(match?.[1])
    const days = Number(match?.[2])
    if (match === null || days < 1 || days > 3650) return send(ctx, { text: ctx.t.grantUsage })
    const user = await run(Effect.flatMap(Users, (u) => u.get(userId)))
    if (user === undefined) return send(ctx, { text: ctx.t.grantNoUser(userId) })
    const endsAt = await run(
      Effect.flatMap(Subscriptions, (s) => s.grant(userId, days)).pipe(
        Effect.tap(() => Effect.logInfo(`admin granted ${days} days to a user`)),
      ),
    )
    await send(ctx, { text: ctx.t.grantDone(userId, days, date(ctx.lang, endsAt)) })
    await tell(
      ctx,
      user.chatId,
      (t) => t.grantedToUser(days, date(t.language, endsAt)),
      user.language,
    )
  })

  admin.command("refund", async (ctx) => {
    const chargeId = ctx.match.trim()
    if (!/^\S{1,256}$/.test(chargeId)) return send(ctx, { text: ctx.t.refundUsage })
    const failed = (detail: string) => send(ctx, { text: ctx.t.refundFailed(chargeId, detail) })
    const refused = (reason: RefundRefusal) =>
      send(ctx, { text: ctx.t.refundRefused(chargeId, reason) })
    const charge = await run(
      Effect.flatMap(Payments, (p) => p.findCharge(chargeId)).pipe(Effect.either),
    )
    if (Either.isLeft(charge)) {
      const error = charge.left
      return error._tag === "RefundError" ? refused(error.reason) : failed(error.message)
    }
    const { userId, status, amount } = charge.right
    if (status === "refunded") return refused("AlreadyRefunded")
    if (userId === null) return refused("UserDeleted")
    try {
      await ctx.api.refundStarPayment(userId, chargeId)
    } catch (e) {
      return failed(describeError(e))
    }
    const refund = await run(
      Effect.flatMap(Payments, (p) => p.refund(chargeId)).pipe(
        Effect.tapError((e) =>
          e._tag === "RefundError" && e.reason === "AlreadyRefunded"
            ? Effect.void
            : Effect.logError(`Telegram refunded a charge but recording it failed: ${e.message}`),
        ),
        Effect.either,
      ),
    )
    const until = (endsAt: Date | null) => (endsAt === null ? "—" : date(ctx.lang, endsAt))
    if (Either.isLeft(refund)) {
      const error = refund.left
      if (error._tag !== "RefundError") return failed(error.message)
      if (error.reason !== "AlreadyRefunded") return refused(error.reason)
      // Telegram's refunded_payment message to the payer's chat was handled first: it recorded
      // the refund and told the user.
      const status = await run(Effect.flatMap(Subscriptions, (s) => s.status(userId)))
      return send(ctx, {
        text: ctx.t.refundDone(chargeId, userId, until(status.hasAccess ? status.endsAt : null)),
      })
    }
    await send(ctx, { text: ctx.t.refundDone(chargeId, userId, until(refund.right.endsAt)) })
    await tellRefunded(ctx, refund.right, amount, settings.timeZone)
  })

  return composer
}
