import { afterAll, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { payments, subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { asc, eq } from "drizzle-orm"
import {
  Duration,
  Effect,
  Either,
  Layer,
  Logger,
  LogLevel,
  ManagedRuntime,
  TestClock,
  TestContext,
} from "effect"
import { Payments } from "./Payments.ts"
import { Subscriptions } from "./Subscriptions.ts"

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Payments.Default, Subscriptions.Default).pipe(
    Layer.provideMerge(TestDatabase.layer("payments-test")),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  ),
)
afterAll(() => runtime.dispose())

const DAY = Duration.toMillis(Duration.days(1))
const HOUR = Duration.toMillis(Duration.hours(1))
const T0 = Date.UTC(2026, 10, 1, 12)

const run = <A, E>(effect: Effect.Effect<A, E, Payments | Subscriptions | Database>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      return yield* effect
    }).pipe(Effect.provide(TestContext.TestContext)),
  )

let nextUser = 1000
const newUser = Effect.suspend(() => {
  const id = nextUser++
  return Database.query((db) => db.insert(users).values({ id, chatId: id })).pipe(Effect.as(id))
})

const periodsOf = (userId: number) =>
  Database.query((db) =>
    db
      .select({
        plan: subscriptions.plan,
        startsAt: subscriptions.startsAt,
        endsAt: subscriptions.endsAt,
        status: subscriptions.status,
      })
      .from(subscriptions)
      .where(eq(subscriptions.userId, userId))
      .orderBy(asc(subscriptions.startsAt)),
  )

let chargeSeq = 0
/** Buys `plan` the way the bot does: order, pre-checkout, successful payment. */
const buy = (userId: number, planId: "day" | "week" | "month") =>
  Effect.gen(function* () {
    const pay = yield* Payments
    const order = yield* pay.createOrder(userId, planId)
    const verdict = yield* pay.checkPreCheckout({
      userId,
      payload: order.payload,
      currency: "XTR",
      totalAmount: order.amount,
    })
    expect(verdict.ok).toBe(true)
    const charge = `stxTEST${++chargeSeq}`
    const credit = yield* pay.creditPayment({
      userId,
      payload: order.payload,
      telegramPaymentChargeId: charge,
      currency: "XTR",
      totalAmount: order.amount,
    })
    return { order, charge, credit }
  })

describe("orders", () => {
  test("an order is a pending payments row with an unguessable payload, priced by the plan", async () => {
    const { order, row, other } = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "week")
        const other = yield* pay.createOrder(user, "week")
        const [row] = yield* Database.query((db) =>
          db.select().from(payments).where(eq(payments.id, order.id)),
        )
        return { order, row, other }
      }),
    )
    expect(order.plan).toEqual({ id: "week", stars: 50, days: 7 })
    expect(order.amount).toBe(50)
    expect(order.currency).toBe("XTR")
    expect(order.expiresAt).toEqual(new Date(T0 + HOUR))
    expect(new TextEncoder().encode(order.payload).length).toBeLessThanOrEqual(128)
    expect(order.payload.length).toBeGreaterThanOrEqual(24)
    expect(other.payload).not.toBe(order.payload)
    expect(row).toMatchObject({
      plan: "week",
      amount: 50,
      currency: "XTR",
      status: "pending",
      invoicePayload: order.payload,
      telegramPaymentChargeId: null,
    })
  })
})

describe("pre-checkout", () => {
  test("accepts the order's owner paying its amount in Stars", async () => {
    const verdict = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "month")
        return yield* pay.checkPreCheckout({
          userId: user,
          payload: order.payload,
          currency: "XTR",
          totalAmount: 200,
        })
      }),
    )
    expect(verdict).toEqual({ ok: true, plan: { id: "month", stars: 200, days: 30 } })
  })

  test("refuses tampered queries: another user's order, wrong amount or currency, unknown payload", async () => {
    const verdicts = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const owner = yield* newUser
        const thief = yield* newUser
        const order = yield* pay.createOrder(owner, "month")
        const q = { userId: owner, payload: order.payload, currency: "XTR", totalAmount: 200 }
        return {
          otherUser: yield* pay.checkPreCheckout({ ...q, userId: thief }),
          cheaper: yield* pay.checkPreCheckout({ ...q, totalAmount: 20 }),
          dearer: yield* pay.checkPreCheckout({ ...q, totalAmount: 201 }),
          currency: yield* pay.checkPreCheckout({ ...q, currency: "USD" }),
          unknown: yield* pay.checkPreCheckout({ ...q, payload: `${order.payload}x` }),
          empty: yield* pay.checkPreCheckout({ ...q, payload: "" }),
          stillFine: yield* pay.checkPreCheckout(q),
        }
      }),
    )
    expect(verdicts).toEqual({
      otherUser: { ok: false, reason: "not_yours" },
      cheaper: { ok: false, reason: "wrong_amount" },
      dearer: { ok: false, reason: "wrong_amount" },
      currency: { ok: false, reason: "wrong_amount" },
      unknown: { ok: false, reason: "unknown_order" },
      empty: { ok: false, reason: "unknown_order" },
      stillFine: { ok: true, plan: { id: "month", stars: 200, days: 30 } },
    })
  })

  test("refuses an order that was paid already, and one that has expired", async () => {
    const verdicts = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const { order } = yield* buy(user, "day")
        const paid = yield* pay.checkPreCheckout({
          userId: user,
          payload: order.payload,
          currency: "XTR",
          totalAmount: order.amount,
        })
        const late = yield* pay.createOrder(user, "day")
        const q = { userId: user, payload: late.payload, currency: "XTR", totalAmount: 20 }
        yield* TestClock.adjust(Duration.minutes(59))
        const justInTime = yield* pay.checkPreCheckout(q)
        yield* TestClock.adjust(Duration.minutes(1))
        const expired = yield* pay.checkPreCheckout(q)
        return { paid, justInTime, expired }
      }),
    )
    expect(verdicts.paid).toEqual({ ok: false, reason: "already_paid" })
    expect(verdicts.justInTime.ok).toBe(true)
    expect(verdicts.expired).toEqual({ ok: false, reason: "expired" })
  })
})

describe("crediting", () => {
  test("buying a week with 2 days left ends 9 days from now", async () => {
    const { credit, periods } = await run(
      Effect.gen(function* () {
        const subs = yield* Subscriptions
        const user = yield* newUser
        yield* subs.grant(user, 2)
        const { credit } = yield* buy(user, "week")
        return { credit, periods: yield* periodsOf(user) }
      }),
    )
    expect(credit).toEqual({ credited: true, plan: "week", endsAt: new Date(T0 + 9 * DAY) })
    expect(periods).toEqual([
      { plan: "grant", startsAt: new Date(T0), endsAt: new Date(T0 + 2 * DAY), status: "active" },
      {
        plan: "week",
        startsAt: new Date(T0 + 2 * DAY),
        endsAt: new Date(T0 + 9 * DAY),
        status: "active",
      },
    ])
  })

  test("buying after expiry starts now", async () => {
    const { credit, status } = await run(
      Effect.gen(function* () {
        const subs = yield* Subscriptions
        const user = yield* newUser
        yield* subs.startTrial(user)
        yield* TestClock.adjust(Duration.days(5))
        const { credit } = yield* buy(user, "day")
        return { credit, status: yield* subs.status(user) }
      }),
    )
    expect(credit.endsAt).toEqual(new Date(T0 + 6 * DAY))
    expect(status).toMatchObject({ hasAccess: true, plan: "day", endsAt: new Date(T0 + 6 * DAY) })
  })

  test("the same successful payment delivered twice credits once", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "week")
        const payment = {
          userId: user,
          payload: order.payload,
          telegramPaymentChargeId: "stxTWICE",
          providerPaymentChargeId: "prov-1",
          currency: "XTR",
          totalAmount: 50,
        }
        const first = yield* pay.creditPayment(payment)
        const again = yield* pay.creditPayment(payment)
        const [row] = yield* Database.query((db) =>
          db.select().from(payments).where(eq(payments.id, order.id)),
        )
        return { first, again, row, periods: yield* periodsOf(user) }
      }),
    )
    expect(result.first).toEqual({ credited: true, plan: "week", endsAt: new Date(T0 + 7 * DAY) })
    expect(result.again).toEqual({ credited: false, plan: "week", endsAt: new Date(T0 + 7 * DAY) })
    expect(result.periods).toHaveLength(1)
    expect(result.row).toMatchObject({
      status: "paid",
      telegramPaymentChargeId: "stxTWICE",
      providerPaymentChargeId: "prov-1",
      paidAt: new Date(T0),
    })
  })

  test("two deliveries of one payment at the same moment credit once", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "month")
        const payment = {
          userId: user,
          payload: order.payload,
          telegramPaymentChargeId: "stxRACE",
          currency: "XTR",
          totalAmount: 200,
        }
        const both = yield* Effect.all([pay.creditPayment(payment), pay.creditPayment(payment)], {
          concurrency: 2,
        })
        return { both, periods: yield* periodsOf(user) }
      }),
    )
    expect(result.both.map((c) => c.credited).sort()).toEqual([false, true])
    expect(result.periods).toHaveLength(1)
    expect(result.periods[0]?.endsAt).toEqual(new Date(T0 + 30 * DAY))
  })

  test("the plan credited is the order's, whatever the bot believes", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        // The user opened two invoices; they pay the day one.
        yield* pay.createOrder(user, "month")
        const day = yield* pay.createOrder(user, "day")
        const credit = yield* pay.creditPayment({
          userId: user,
          payload: day.payload,
          telegramPaymentChargeId: "stxORDER",
          currency: "XTR",
          totalAmount: 20,
        })
        return { credit, periods: yield* periodsOf(user) }
      }),
    )
    expect(result.credit).toEqual({ credited: true, plan: "day", endsAt: new Date(T0 + DAY) })
    expect(result.periods.map((p) => p.plan)).toEqual(["day"])
  })

  test("a payment arriving after the order expired is still credited (pre-checkout was in time)", async () => {
    const credit = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "day")
        yield* TestClock.adjust(Duration.minutes(59))
        const verdict = yield* pay.checkPreCheckout({
          userId: user,
          payload: order.payload,
          currency: "XTR",
          totalAmount: 20,
        })
        expect(verdict.ok).toBe(true)
        yield* TestClock.adjust(Duration.minutes(2))
        return yield* pay.creditPayment({
          userId: user,
          payload: order.payload,
          telegramPaymentChargeId: "stxLATE",
          currency: "XTR",
          totalAmount: 20,
        })
      }),
    )
    expect(credit).toEqual({
      credited: true,
      plan: "day",
      endsAt: new Date(T0 + 61 * 60_000 + DAY),
    })
  })

  test("an invoice paid twice (two charges) credits both, each refundable on its own", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const order = yield* pay.createOrder(user, "week")
        const payment = { userId: user, payload: order.payload, currency: "XTR", totalAmount: 50 }
        const first = yield* pay.creditPayment({ ...payment, telegramPaymentChargeId: "stxA" })
        const second = yield* pay.creditPayment({ ...payment, telegramPaymentChargeId: "stxB" })
        const refund = yield* pay.refund("stxB")
        const rows = yield* Database.query((db) =>
          db
            .select({ charge: payments.telegramPaymentChargeId, status: payments.status })
            .from(payments)
            .where(eq(payments.userId, user))
            .orderBy(asc(payments.id)),
        )
        return { first, second, refund, rows }
      }),
    )
    expect(result.first.endsAt).toEqual(new Date(T0 + 7 * DAY))
    expect(result.second).toEqual({ credited: true, plan: "week", endsAt: new Date(T0 + 14 * DAY) })
    expect(result.refund.endsAt).toEqual(new Date(T0 + 7 * DAY))
    expect(result.rows).toEqual([
      { charge: "stxA", status: "paid" },
      { charge: "stxB", status: "refunded" },
    ])
  })

  test("a payment naming no order fails with PaymentError and credits nothing", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const user = yield* newUser
        const outcome = yield* Effect.either(
          pay.creditPayment({
            userId: user,
            payload: "fw1-not-an-order",
            telegramPaymentChargeId: "stxLOST",
            currency: "XTR",
            totalAmount: 20,
          }),
        )
        return { outcome, periods: yield* periodsOf(user) }
      }),
    )
    expect(Either.isLeft(result.outcome)).toBe(true)
    if (Either.isLeft(result.outcome)) {
      expect(result.outcome.left).toMatchObject({ _tag: "PaymentError", reason: "UnknownOrder" })
    }
    expect(result.periods).toHaveLength(0)
  })
})

describe("refunds", () => {
  test("refunding a queued period removes its days; later periods move earlier", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const subs = yield* Subscriptions
        const user = yield* newUser
        yield* subs.startTrial(user) // T0 .. T0+1d
        const week = yield* buy(user, "week") // T0+1d .. T0+8d
        yield* buy(user, "day") // T0+8d .. T0+9d
        yield* TestClock.adjust(Duration.hours(2))
        const charge = yield* pay.findCharge(week.charge)
        const refund = yield* pay.refund(week.charge)
        const again = yield* Effect.either(pay.refund(week.charge))
        const unknown = yield* Effect.either(pay.refund("stxNOPE"))
        const [row] = yield* Database.query((db) =>
          db.select().from(payments).where(eq(payments.id, week.order.id)),
        )
        return {
          charge,
          refund,
          again,
          unknown,
          row,
          status: yield* subs.status(user),
          periods: yield* periodsOf(user),
        }
      }),
    )
    expect(result.charge).toMatchObject({ plan: "week", amount: 50, status: "paid" })
    expect(result.refund).toMatchObject({ plan: "week", endsAt: new Date(T0 + 2 * DAY) })
    expect(result.status).toMatchObject({ hasAccess: true, endsAt: new Date(T0 + 2 * DAY) })
    expect(result.periods).toEqual([
      { plan: "trial", startsAt: new Date(T0), endsAt: new Date(T0 + DAY), status: "active" },
      {
        plan: "week",
        startsAt: new Date(T0 + DAY),
        endsAt: new Date(T0 + 8 * DAY),
        status: "refunded",
      },
      {
        plan: "day",
        startsAt: new Date(T0 + DAY),
        endsAt: new Date(T0 + 2 * DAY),
        status: "active",
      },
    ])
    expect(result.row).toMatchObject({ status: "refunded", refundedAt: new Date(T0 + 2 * HOUR) })
    expect(Either.isLeft(result.again) && result.again.left.reason).toBe("AlreadyRefunded")
    expect(Either.isLeft(result.unknown) && result.unknown.left.reason).toBe("UnknownCharge")
  })

  test("refunding the current period ends access now and pulls the next one in", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const subs = yield* Subscriptions
        const user = yield* newUser
        const week = yield* buy(user, "week") // T0 .. T0+7d
        yield* buy(user, "day") // T0+7d .. T0+8d
        yield* TestClock.adjust(Duration.days(3))
        const refund = yield* pay.refund(week.charge)
        return { refund, status: yield* subs.status(user), periods: yield* periodsOf(user) }
      }),
    )
    // Three days were used; the four left are removed, so the day plan starts now.
    expect(result.refund.endsAt).toEqual(new Date(T0 + 4 * DAY))
    expect(result.status).toMatchObject({ hasAccess: true, plan: "day" })
    expect(result.periods.find((p) => p.plan === "day")).toMatchObject({
      startsAt: new Date(T0 + 3 * DAY),
      endsAt: new Date(T0 + 4 * DAY),
      status: "active",
    })
  })

  test("refunding the only period leaves the user without access", async () => {
    const result = await run(
      Effect.gen(function* () {
        const pay = yield* Payments
        const subs = yield* Subscriptions
        const user = yield* newUser
        const month = yield* buy(user, "month")
        yield* TestClock.adjust(Duration.days(1))
        const refund = yield* pay.refund(month.charge)
        return { user, refund, status: yield* subs.status(user) }
      }),
    )
    expect(result.refund).toEqual({ userId: result.user, plan: "month", endsAt: null })
    expect(result.status.hasAccess).toBe(false)
  })
})
