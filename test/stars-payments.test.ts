/**
 * The payment domain against Telegram's wire format: a small grammY bot (test-only; the real
 * handlers live in libs/bot) turns the fake Bot API's pre_checkout_query and successful_payment
 * updates into `Payments` calls, over real HTTP and a real PostgreSQL.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Payments } from "@flatwatch/subscriptions/Payments"
import { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { FakePayments } from "@flatwatch/telegram/FakeBotApiPayments"
import { eq } from "drizzle-orm"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { Bot } from "grammy"

const TOKEN = "777001:STARS-token_abcdefghijklmnopqrstuvwxyz"
const DAY = 86_400_000

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Payments.Default, Subscriptions.Default).pipe(
    Layer.provideMerge(TestDatabase.layer("stars-payments-test")),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
  ),
)
let fake: FakeBotApi
let bot: Bot
let running: Promise<void>

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } })
  bot.command("buy", async (ctx) => {
    const order = await runtime.runPromise(
      Effect.flatMap(Payments, (p) => p.createOrder(ctx.chat.id, "week")),
    )
    await ctx.replyWithInvoice(
      "Flatwatch: 7 days",
      "New listings for 7 days",
      order.payload,
      "XTR",
      [{ label: "7 days", amount: order.amount }],
    )
  })
  bot.on("pre_checkout_query", async (ctx) => {
    const q = ctx.preCheckoutQuery
    const verdict = await runtime.runPromise(
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
      : ctx.answerPreCheckoutQuery(false, { error_message: `refused: ${verdict.reason}` }))
  })
  bot.on("message:successful_payment", async (ctx) => {
    const p = ctx.message.successful_payment
    const credit = await runtime.runPromise(
      Effect.flatMap(Payments, (pay) =>
        pay.creditPayment({
          userId: ctx.from.id,
          payload: p.invoice_payload,
          telegramPaymentChargeId: p.telegram_payment_charge_id,
          providerPaymentChargeId: p.provider_payment_charge_id,
          currency: p.currency,
          totalAmount: p.total_amount,
        }),
      ),
    )
    if (credit.credited) await ctx.reply(`paid until ${credit.endsAt.toISOString()}`)
  })
  running = bot.start({ timeout: 1 })
})

afterAll(async () => {
  await bot.stop()
  await running
  await fake.stop()
  await runtime.dispose()
})

const newUser = (id: number) =>
  runtime.runPromise(Database.query((db) => db.insert(users).values({ id, chatId: id })))

const periods = (userId: number) =>
  runtime.runPromise(
    Database.query((db) =>
      db
        .select({ plan: subscriptions.plan, status: subscriptions.status })
        .from(subscriptions)
        .where(eq(subscriptions.userId, userId)),
    ),
  )

const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await Bun.sleep(5)
  }
}

const buyInvoice = async (userId: number) => {
  fake.injectMessage(TOKEN, { id: userId }, "/buy")
  await fake.waitForCall((c) => c.method === "sendInvoice" && c.params.chat_id === userId)
  const [invoice] = FakePayments.of(fake).invoicesTo(userId)
  if (invoice === undefined) throw new Error("no invoice")
  return invoice
}

test("an invoice paid and its payment delivered twice: one week is credited, one confirmation", async () => {
  const user = { id: 9001 }
  await newUser(user.id)
  const payments = FakePayments.of(fake)
  const invoice = await buyInvoice(user.id)
  expect(invoice).toMatchObject({ currency: "XTR", totalAmount: 50 })
  const before = Date.now()
  const paid = await payments.payInvoice(user, invoice)
  if (!paid.ok) throw new Error(`payment refused: ${JSON.stringify(paid.answer)}`)
  const confirmation = await fake.waitForCall(
    (c) => c.method === "sendMessage" && c.params.chat_id === user.id,
  )
  const endsAt = Date.parse(String(confirmation.params.text).replace("paid until ", ""))
  expect(endsAt - before).toBeGreaterThanOrEqual(7 * DAY - 1000)
  expect(endsAt - before).toBeLessThan(7 * DAY + 10_000)
  // Telegram delivers the same successful_payment again (e.g. after a restart of the bot).
  payments.injectSuccessfulPayment(TOKEN, user, {
    payload: invoice.payload,
    totalAmount: 50,
    telegramPaymentChargeId: paid.charge.telegramPaymentChargeId,
  })
  // grammY handles one update after the other: once this /buy is answered, so is the payment.
  fake.injectMessage(TOKEN, user, "/buy")
  await until(() => payments.invoicesTo(user.id).length === 2)
  expect(fake.callsTo("sendMessage").filter((c) => c.params.chat_id === user.id)).toHaveLength(1)
  expect(await periods(user.id)).toEqual([{ plan: "week", status: "active" }])
})

test("a tampered pre-checkout is refused with a readable message and nothing is charged", async () => {
  const user = { id: 9002 }
  const thief = { id: 9003 }
  await newUser(user.id)
  await newUser(thief.id)
  const payments = FakePayments.of(fake)
  const invoice = await buyInvoice(user.id)
  const cheap = await payments.pay(TOKEN, user, { payload: invoice.payload, totalAmount: 1 })
  const stolen = await payments.pay(TOKEN, thief, { payload: invoice.payload, totalAmount: 50 })
  const forged = await payments.pay(TOKEN, user, { payload: "fw1forged", totalAmount: 50 })
  expect([cheap, stolen, forged]).toEqual([
    { ok: false, answer: { ok: false, errorMessage: "refused: wrong_amount" } },
    { ok: false, answer: { ok: false, errorMessage: "refused: not_yours" } },
    { ok: false, answer: { ok: false, errorMessage: "refused: unknown_order" } },
  ])
  expect(await periods(user.id)).toEqual([])
  expect(await periods(thief.id)).toEqual([])
})

test("a refund through Telegram, then recorded: the week is gone", async () => {
  const user = { id: 9004 }
  await newUser(user.id)
  const payments = FakePayments.of(fake)
  const invoice = await buyInvoice(user.id)
  const paid = await payments.payInvoice(user, invoice)
  if (!paid.ok) throw new Error("payment refused")
  await fake.waitForCall((c) => c.method === "sendMessage" && c.params.chat_id === user.id)
  const chargeId = paid.charge.telegramPaymentChargeId
  const refund = await runtime.runPromise(
    Effect.gen(function* () {
      const pay = yield* Payments
      const charge = yield* pay.findCharge(chargeId)
      // What /refund does: Telegram first, then the record.
      yield* Effect.promise(() => bot.api.refundStarPayment(charge.userId ?? 0, chargeId))
      return yield* pay.refund(chargeId)
    }),
  )
  expect(refund).toEqual({ userId: user.id, plan: "week", endsAt: null })
  expect(paid.charge.refunded).toBe(true)
  expect(await periods(user.id)).toEqual([{ plan: "week", status: "refunded" }])
  const status = await runtime.runPromise(Effect.flatMap(Subscriptions, (s) => s.status(user.id)))
  expect(status.hasAccess).toBe(false)
})
