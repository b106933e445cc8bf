import { Database } from "@flatwatch/db/Database"
import { payments } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
import { Clock, Config, Data, Duration, Effect, Metric } from "effect"
import { isPlanId, type Plan, type PlanId, Plans } from "./Plans.ts"
import { Subscriptions } from "./Subscriptions.ts"

/** Telegram Stars: the only currency Flatwatch sells in. */
export const STARS = "XTR"

/** `PAYMENT_ORDER_TTL`: how long an invoice can be paid after it was sent (default 1 hour). */
export const PaymentsConfig = Config.all({
  orderTtl: Config.duration("PAYMENT_ORDER_TTL").pipe(
    Config.validate({ message: "must be longer than zero", validation: Duration.greaterThan(0) }),
    Config.withDefault(Duration.hours(1)),
  ),
})

/** An order: what an invoice sells. Its `payload` goes into the invoice and names the order. */
export interface Order {
  readonly id: number
  /** Random and unguessable (≤ 128 bytes, as Telegram requires); a secret: never log it. */
  readonly payload: string
  readonly plan: Plan
  /** The price in Stars, fixed when the order was made. */
  readonly amount: number
  readonly currency: typeof STARS
  /** After this a pre-checkout query for the order is refused. */
  readonly expiresAt: Date
}

/** What Telegram asks in a `pre_checkout_query`. */
export interface PreCheckoutQuery {
  readonly userId: number
  readonly payload: string
  readonly currency: string
  readonly totalAmount: number
}

export type PreCheckoutRefusal =
  | "unknown_order"
  | "not_yours"
  | "already_paid"
  | "expired"
  | "wrong_amount"

export type PreCheckoutVerdict =
  | { readonly ok: true; readonly plan: Plan }
  | { readonly ok: false; readonly reason: PreCheckoutRefusal }

/** What Telegram sends in a `successful_payment` message. */
export interface SuccessfulPayment {
  readonly userId: number
  readonly payload: string
  readonly telegramPaymentChargeId: string
  readonly providerPaymentChargeId?: string
  readonly currency: string
  readonly totalAmount: number
}

export interface Credit {
  /** False when this charge id had already been credited (the update was delivered again). */
  readonly credited: boolean
  readonly plan: PlanId
  /** The end of the user's access after the credit. */
  readonly endsAt: Date
}

export interface Refund {
  /** The payer: the user Telegram refunds and who loses the period. */
  readonly userId: number
  readonly plan: PlanId
  /** The end of the user's access after the refund; null when they have no access now. */
  readonly endsAt: Date | null
}

/** A charge as stored: what the admin's `/refund <charge id>` needs before calling Telegram. */
export interface Charge {
  readonly paymentId: number
  /** null when the user has deleted their account (the payment record is kept). */
  readonly userId: number | null
  readonly plan: PlanId
  readonly amount: number
  readonly status: "paid" | "refunded"
  readonly paidAt: Date | null
}

/**
 * A successful payment that names no order of ours. Telegram only sends one after our
 * pre-checkout answer said ok, so this means lost data: the user was charged and must be helped
 * (or refunded) by hand.
 */
export class PaymentError extends Data.TaggedError("PaymentError")<{
  readonly reason: "UnknownOrder"
  readonly message: string
}> {}

/** `/refund` of a charge id that is not ours, was refunded already, or whose payer is gone. */
export class RefundError extends Data.TaggedError("RefundError")<{
  readonly reason: "UnknownCharge" | "AlreadyRefunded" | "UserDeleted"
  readonly message: string
}> {}

const paymentsCredited = Metric.counter("subscriptions_payments_credited_total", {
  description: "successful payments credited (a repeated delivery is not counted)",
  incremental: true,
})
const paymentsDuplicate = Metric.counter("subscriptions_payments_duplicate_total", {
  description: "successful_payment updates for a charge that was already credited",
  incremental: true,
})
const preCheckoutRefused = Metric.counter("subscriptions_pre_checkout_refused_total", {
  description: "pre-checkout queries answered with an error",
  incremental: true,
})
const refunds = Metric.counter("subscriptions_refunds_total", {
  description: "payments refunded",
  incremental: true,
})

/** 18 random bytes (144 bits), base64url: 27 ASCII bytes with the prefix. */
const newPayload = (): string =>
  `fw1${Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url")}`

const refuse = (reason: PreCheckoutRefusal): PreCheckoutVerdict => ({ ok: false, reason })

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

const planOf = (plan: string): PlanId => {
  if (isPlanId(plan)) return plan
  // Orders are only ever created for purchasable plans.
  throw new Error(`payment row with non-purchasable plan ${plan}`)
}

/**
 * Telegram Stars payments: orders (invoices), pre-checkout validation, crediting and refunds.
 * The plan paid for is always read from the order row named by the invoice payload, never from
 * bot session state, so a restart between the invoice and the payment loses nothing.
 */
export class Payments extends Effect.Service<Payments>()("@flatwatch/subscriptions/Payments", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const plans = yield* Plans
    const subscriptions = yield* Subscriptions
    const config = yield* PaymentsConfig
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)

    const orderByPayload = (payload: string) =>
      Database.query((db) =>
        db.select().from(payments).where(eq(payments.invoicePayload, payload)).limit(1),
      ).pipe(Effect.map((rows) => rows[0]))

    /**
     * Creates a pending order for `planId` at the plan's current price, valid for
     * `PAYMENT_ORDER_TTL`. Send an invoice with `order.payload`, `order.amount` and currency XTR.
     */
    const createOrder = Effect.fn("Payments.createOrder")(function* (
      userId: number,
      planId: PlanId,
    ) {
      const plan = plans.get(planId)
      const at = yield* now
      const expiresAt = new Date(at.getTime() + Duration.toMillis(config.orderTtl))
      const payload = newPayload()
      const [row] = yield* Database.query((db) =>
        db
          .insert(payments)
          .values({
            userId,
            plan: plan.id,
            amount: plan.stars,
            currency: STARS,
            invoicePayload: payload,
            status: "pending",
            createdAt: at,
            expiresAt,
          })
          .returning({ id: payments.id }),
      )
      if (row === undefined) return yield* Effect.dieMessage("insert returned no row")
      yield* Effect.logInfo("order created").pipe(
        Effect.annotateLogs({ orderId: row.id, userId, plan: plan.id }),
      )
      return {
        id: row.id,
        payload,
        plan,
        amount: plan.stars,
        currency: STARS,
        expiresAt,
      } satisfies Order as Order
    }, withDb)

    /**
     * Decides the answer to a `pre_checkout_query`: ok only when the payload names an order of
     * this user that is unpaid and not expired, in Stars, for exactly the order's amount.
     * Read-only and fast (one indexed lookup), well within Telegram's 10 seconds.
     */
    const checkPreCheckout = Effect.fn("Payments.checkPreCheckout")(function* (
      q: PreCheckoutQuery,
    ) {
      const verdict = yield* Effect.gen(function* () {
        const order = yield* orderByPayload(q.payload)
        if (order === undefined) return refuse("unknown_order")
        if (order.userId !== q.userId) return refuse("not_yours")
        if (order.status !== "pending") return refuse("already_paid")
        const at = yield* now
        if (order.expiresAt.getTime() <= at.getTime()) return refuse("expired")
        if (q.currency !== STARS || q.totalAmount !== order.amount) return refuse("wrong_amount")
        const plan = plans.get(planOf(order.plan))
        return { ok: true, plan: { ...plan, stars: order.amount } } satisfies PreCheckoutVerdict
      })
      if (!verdict.ok) {
        yield* Metric.increment(preCheckoutRefused)
        yield* Effect.logWarning("pre-checkout refused").pipe(
          Effect.annotateLogs({ userId: q.userId, reason: verdict.reason }),
        )
      }
      return verdict
    }, withDb)

    /** The end of the user's access now, else the end of the period bound to the payment. */
    const endFor = (userId: number, paymentId: number) =>
      Effect.gen(function* () {
        const status = yield* subscriptions.status(userId)
        if (status.hasAccess && status.endsAt !== null) return status.endsAt
        const rows = yield* Database.sql(
          (sql) =>
            sql<{ ends_at: string }[]>`
              select ends_at from subscriptions where payment_id = ${paymentId}
              order by ends_at desc limit 1`,
        )
        const bound = rows[0]?.ends_at
        return bound !== undefined ? new Date(bound) : (status.endsAt ?? (yield* now))
      })

    /**
     * Credits a successful payment: the ORDER's plan (from the payload), extending the payer's
     * access from the later of now and their current end. Idempotent on the Telegram charge
     * id: the same payment delivered twice credits once (`credited: false` the second time).
     * All in one transaction: the payment is marked paid exactly when the period is added.
     * A second, different charge for an order already paid (an invoice paid twice) is credited
     * too, as its own payment row, since the user was charged twice.
     */
    const creditPayment = Effect.fn("Payments.creditPayment")(function* (p: SuccessfulPayment) {
      return yield* Database.transaction(
        Effect.gen(function* () {
          const [order] = yield* Database.query((db) =>
            db
              .select()
              .from(payments)
              .where(eq(payments.invoicePayload, p.payload))
              .limit(1)
              .for("update"),
          )
          if (order === undefined) {
            return yield* new PaymentError({
              reason: "UnknownOrder",
              message: `successful payment ${p.telegramPaymentChargeId} names no order`,
            })
          }
          const planId = planOf(order.plan)
          const [seen] = yield* Database.query((db) =>
            db
              .select({ id: payments.id, userId: payments.userId, plan: payments.plan })
              .from(payments)
              .where(eq(payments.telegramPaymentChargeId, p.telegramPaymentChargeId))
              .limit(1),
          )
          if (seen !== undefined) {
            yield* Metric.increment(paymentsDuplicate)
            yield* Effect.logInfo("payment already credited").pipe(
              Effect.annotateLogs({ paymentId: seen.id, userId: p.userId }),
            )
            return {
              credited: false,
              plan: planOf(seen.plan),
              endsAt: yield* endFor(p.userId, seen.id),
            } satisfies Credit as Credit
          }
          if (order.userId !== p.userId || order.amount !== p.totalAmount) {
            // Pre-checkout refuses both, so Telegram cannot send this; the payer was charged
            // all the same, so credit the payer and leave a trace for the operator.
            yield* Effect.logWarning("successful payment does not match its order").pipe(
              Effect.annotateLogs({
                orderId: order.id,
                orderUserId: order.userId,
                userId: p.userId,
                orderAmount: order.amount,
                totalAmount: p.totalAmount,
              }),
            )
          }
          const at = yield* now
          const paid = {
            status: "paid" as const,
            userId: p.userId,
            amount: p.totalAmount,
            currency: p.currency,
            telegramPaymentChargeId: p.telegramPaymentChargeId,
            providerPaymentChargeId: p.providerPaymentChargeId ?? null,
            paidAt: at,
          }
          let paymentId = order.id
          if (order.status === "pending") {
            yield* Database.query((db) =>
              db.update(payments).set(paid).where(eq(payments.id, order.id)),
            )
          } else {
            const [extra] = yield* Database.query((db) =>
              db
                .insert(payments)
                .values({
                  ...paid,
                  plan: planId,
                  invoicePayload: `${order.invoicePayload}:${p.telegramPaymentChargeId}`,
                  createdAt: at,
                  expiresAt: order.expiresAt,
                })
                .returning({ id: payments.id }),
            )
            if (extra === undefined) return yield* Effect.dieMessage("insert returned no row")
            paymentId = extra.id
          }
          const plan = plans.get(planId)
          const endsAt = yield* subscriptions.extend(
            p.userId,
            planId,
            Duration.days(plan.days),
            paymentId,
          )
          yield* Metric.increment(paymentsCredited)
          yield* Effect.logInfo("payment credited").pipe(
            Effect.annotateLogs({
              paymentId,
              userId: p.userId,
              plan: planId,
              stars: p.totalAmount,
            }),
          )
          return { credited: true, plan: planId, endsAt } satisfies Credit as Credit
        }),
      )
    }, withDb)

    const chargeRow = (telegramPaymentChargeId: string) =>
      Database.query((db) =>
        db
          .select()
          .from(payments)
          .where(eq(payments.telegramPaymentChargeId, telegramPaymentChargeId))
          .limit(1),
      ).pipe(Effect.map((rows) => rows[0]))

    /**
     * The stored charge, for `/refund`: Telegram's `refundStarPayment` needs the payer's user id.
     * Fails with `RefundError` `UnknownCharge` for a charge id that is not ours.
     */
    const findCharge = Effect.fn("Payments.findCharge")(function* (
      telegramPaymentChargeId: string,
    ) {
      const row = yield* chargeRow(telegramPaymentChargeId)
      if (row === undefined || row.status === "pending") {
        return yield* new RefundError({
          reason: "UnknownCharge",
          message: `no payment with charge id ${telegramPaymentChargeId}`,
        })
      }
      return {
        paymentId: row.id,
        userId: row.userId,
        plan: planOf(row.plan),
        amount: row.amount,
        status: row.status,
        paidAt: row.paidAt,
      } satisfies Charge as Charge
    }, withDb)

    /**
     * Records a refund (call it after Telegram's `refundStarPayment` succeeded): marks the
     * payment refunded and revokes the period it bought (see `Subscriptions.revokePayment`:
     * the unelapsed part is removed and later periods move earlier). Fails with `RefundError`
     * for an unknown or already refunded charge id, or a payer who deleted their account.
     */
    const refund = Effect.fn("Payments.refund")(function* (telegramPaymentChargeId: string) {
      return yield* Database.transaction(
        Effect.gen(function* () {
          const [row] = yield* Database.query((db) =>
            db
              .select()
              .from(payments)
              .where(eq(payments.telegramPaymentChargeId, telegramPaymentChargeId))
              .limit(1)
              .for("update"),
          )
          if (row === undefined || row.status === "pending") {
            return yield* new RefundError({
              reason: "UnknownCharge",
              message: `no payment with charge id ${telegramPaymentChargeId}`,
            })
          }
          if (row.status === "refunded") {
            return yield* new RefundError({
              reason: "AlreadyRefunded",
              message: `the payment with charge id ${telegramPaymentChargeId} was already refunded`,
            })
          }
          const userId = row.userId
          if (userId === null) {
            return yield* new RefundError({
              reason: "UserDeleted",
              message: `the payer of charge id ${telegramPaymentChargeId} has deleted their account`,
            })
          }
          const at = yield* now
          yield* Database.query((db) =>
            db
              .update(payments)
              .set({ status: "refunded", refundedAt: at })
              .where(eq(payments.id, row.id)),
          )
          const revoked = yield* subscriptions.revokePayment(userId, row.id)
          // A paid payment always has its period (both written in one transaction); should it be
          // missing, report access as it stands.
          const endsAt =
            revoked !== undefined
              ? revoked
              : yield* Effect.map(subscriptions.status(userId), (s) =>
                  s.hasAccess ? s.endsAt : null,
                )
          yield* Metric.increment(refunds)
          yield* Effect.logInfo("payment refunded").pipe(
            Effect.annotateLogs({ paymentId: row.id, userId }),
          )
          return { userId, plan: planOf(row.plan), endsAt } satisfies Refund as Refund
        }),
      )
    }, withDb)

    return { createOrder, checkPreCheckout, creditPayment, findCharge, refund } as const
  }),
  dependencies: [Plans.Default, Subscriptions.Default],
}) {}
