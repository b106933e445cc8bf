import { Payments } from "@flatwatch/subscriptions/Payments"
import { Plans } from "@flatwatch/subscriptions/Plans"
import { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import { Effect, Either } from "effect"
import type { BotContext } from "../BotContext.ts"
import { type Feature, newComposer, onAction, telegramUserOf } from "../Feature.ts"
import { describeError } from "../FlatwatchBot.ts"
import { button, keyboard } from "../Keyboards.ts"
import { send, show } from "../Replies.ts"
import { tellAdmins, tellRefunded } from "../Tell.ts"
import { Users } from "../Users.ts"

/**
 * The Subscription screen and paying in Telegram Stars: a plan button (also under the expiry
 * notice: `buy:<planId>`) creates an order and sends its invoice; `pre_checkout_query` is
 * answered from the order (never from session state); `successful_payment` credits the order's
 * plan once per charge id.
 */
export const SubscriptionFeature: Feature = ({ settings, run }) => {
  const composer = newComposer()

  const screen = async (ctx: BotContext) => {
    const userId = ctx.from?.id
    if (userId === undefined) return undefined
    const { status, plans } = await run(
      Effect.all({
        status: Effect.flatMap(Subscriptions, (s) => s.status(userId)),
        plans: Effect.map(Plans, (p) => p.all),
      }),
    )
    const date = (d: Date) => formatDateTime(ctx.lang, d, settings.timeZone)
    // With access, `endsAt` is always set (the end of the period that covers now).
    const line =
      status.endsAt === null
        ? status.trialUsed
          ? ctx.t.subNone
          : ctx.t.subNever
        : !status.hasAccess
          ? ctx.t.subExpired(date(status.endsAt))
          : status.plan === "trial"
            ? ctx.t.subTrial(date(status.endsAt))
            : ctx.t.subPaid(date(status.endsAt))
    return {
      text: `${ctx.t.subscriptionTitle}\n\n${line}\n\n${ctx.t.subPlansIntro}`,
      markup: keyboard([
        ...plans.map((p) => [button(ctx.t.planButton(p.id, p.stars), { _tag: "buy", plan: p.id })]),
        [button(ctx.t.btnMenu, { _tag: "menu", screen: "main" })],
      ]),
    }
  }

  composer.command("subscription", async (ctx) => {
    const s = await screen(ctx)
    if (s !== undefined) await send(ctx, s)
  })
  onAction(
    composer,
    "menu",
    async (ctx) => {
      const s = await screen(ctx)
      if (s !== undefined) await show(ctx, s)
    },
    (a) => a.screen === "sub",
  )

  onAction(composer, "buy", async (ctx, { plan }) => {
    const from = telegramUserOf(ctx)
    if (from === undefined) return
    // An order belongs to a user row; someone pressing "renew" after /deleteme gets one again.
    if (ctx.user === undefined) ctx.user = await run(Effect.flatMap(Users, (u) => u.upsert(from)))
    const order = await run(Effect.flatMap(Payments, (p) => p.createOrder(from.id, plan)))
    await ctx.replyWithInvoice(
      ctx.t.invoiceTitle(plan),
      ctx.t.invoiceDescription(plan, order.plan.days),
      order.payload,
      order.currency,
      [{ label: ctx.t.planName(plan), amount: order.amount }],
      { provider_token: "" },
    )
  })

  composer.on("pre_checkout_query", async (ctx) => {
    const q = ctx.preCheckoutQuery
    try {
      const verdict = await run(
        Effect.flatMap(Payments, (p) =>
          p.checkPreCheckout({
            userId: q.from.id,
            payload: q.invoice_payload,
            currency: q.currency,
            totalAmount: q.total_amount,
          }),
        ),
      )
      await (verdict.ok
        ? ctx.answerPreCheckoutQuery(true)
        : ctx.answerPreCheckoutQuery(false, {
            error_message: ctx.t.preCheckoutError(verdict.reason),
          }))
    } catch (e) {
      // Telegram cancels the purchase after 10 s without an answer: say so at once instead.
      await ctx
        .answerPreCheckoutQuery(false, { error_message: ctx.t.error })
        .catch((e2: unknown) =>
          run(Effect.logWarning(`answering a failed pre-checkout failed: ${describeError(e2)}`)),
        )
      throw e
    }
  })

  composer.on("message:successful_payment", async (ctx) => {
    const p = ctx.message.successful_payment
    const chargeId = p.telegram_payment_charge_id
    const from = telegramUserOf(ctx)
    const result = await run(
      Effect.gen(function* () {
        // The period needs the payer's row, also when they erased their data (/deleteme)
        // between the pre-checkout and the payment.
        if (ctx.user === undefined && from !== undefined) {
          ctx.user = yield* Effect.flatMap(Users, (u) => u.upsert(from))
        }
        return yield* Effect.flatMap(Payments, (payments) =>
          payments.creditPayment({
            userId: ctx.from.id,
            payload: p.invoice_payload,
            telegramPaymentChargeId: chargeId,
            providerPaymentChargeId: p.provider_payment_charge_id,
            currency: p.currency,
            totalAmount: p.total_amount,
          }),
        )
      }).pipe(
        Effect.map((credit) => ({ credit })),
        // The user was charged: whatever went wrong, they and the admins are told, with the
        // charge id (Telegram will not send this update again).
        Effect.catchAll((e) =>
          Effect.logError(`a successful payment could not be credited: ${e.message}`).pipe(
            Effect.annotateLogs({ userId: ctx.from.id }),
            Effect.as({ failed: e.message }),
          ),
        ),
      ),
    )
    if ("failed" in result) {
      await send(ctx, { text: ctx.t.paymentNotCredited(chargeId) })
      await tellAdmins(ctx, settings.telegram.adminIds, (t) =>
        t.paymentNotCreditedToAdmin(ctx.from.id, chargeId, result.failed),
      )
      return
    }
    const { credit } = result
    const until = formatDateTime(ctx.lang, credit.endsAt, settings.timeZone)
    await send(ctx, {
      text: credit.credited
        ? ctx.t.paymentThanks(credit.plan, until)
        : ctx.t.paymentAlreadyCredited(until),
    })
  })

  // Telegram posts a `refunded_payment` service message in the payer's chat for every refund:
  // the ones /refund makes, and any made another way. Whichever records the refund first (this
  // handler or /refund) revokes the period and tells the payer; the other says nothing more.
  composer.on("message:refunded_payment", async (ctx) => {
    const refunded = ctx.message.refunded_payment
    const chargeId = refunded.telegram_payment_charge_id
    const recorded = await run(
      Effect.flatMap(Payments, (p) => p.refund(chargeId)).pipe(Effect.either),
    )
    if (Either.isLeft(recorded)) {
      const error = recorded.left
      if (error._tag !== "RefundError" || error.reason !== "AlreadyRefunded") {
        await run(
          Effect.logWarning(`Telegram reported a refund that was not recorded: ${error.message}`),
        )
      }
      return
    }
    await run(
      Effect.logWarning("Telegram reported a refund made outside /refund; recorded it").pipe(
        Effect.annotateLogs({ userId: recorded.right.userId }),
      ),
    )
    await tellRefunded(ctx, recorded.right, refunded.total_amount, settings.timeZone)
  })

  return composer
}
