import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Api, Bot, GrammyError } from "grammy"
import { FakeBotApi } from "./FakeBotApi.ts"
import { FakePayments } from "./FakeBotApiPayments.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const TOKEN = "424242:PAY-token_abcdefghijklmnopqrstuvwxyz"
let fake: FakeBotApi
let api: Api

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  api = new Api(TOKEN, { apiRoot: fake.apiRoot })
})
afterAll(() => fake.stop())

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof GrammyError ? `${e.error_code} ${e.description}` : String(e)),
  )

/** Waits (briefly, in real time) for a condition the bot's handlers bring about. */
const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await Bun.sleep(5)
  }
}

const invoice = (chatId: number, overrides: Record<string, unknown> = {}) => {
  const params = {
    title: "Flatwatch: 7 days",
    description: "New rental listings in your chat for 7 days",
    payload: "fw1-order-abc",
    currency: "XTR",
    prices: [{ label: "7 days", amount: 50 }],
    ...overrides,
  }
  return api.sendInvoice(
    chatId,
    params.title as string,
    params.description as string,
    params.payload as string,
    params.currency as string,
    params.prices as Array<{ label: string; amount: number }>,
    "provider_token" in overrides ? { provider_token: overrides.provider_token as string } : {},
  )
}

test("sendInvoice in Stars returns the invoice message and records it", async () => {
  const message = await invoice(11)
  expect(message.invoice).toEqual({
    title: "Flatwatch: 7 days",
    description: "New rental listings in your chat for 7 days",
    start_parameter: "",
    currency: "XTR",
    total_amount: 50,
  })
  const withEmptyToken = await invoice(11, { provider_token: "" })
  expect(withEmptyToken.invoice?.total_amount).toBe(50)
  const sent = FakePayments.of(fake).invoicesTo(11)
  expect(sent.map((i) => [i.payload, i.totalAmount, i.messageId])).toEqual([
    ["fw1-order-abc", 50, message.message_id],
    ["fw1-order-abc", 50, withEmptyToken.message_id],
  ])
  expect(fake.sentTo(11).map((c) => c.method)).toEqual(["sendInvoice", "sendInvoice"])
})

test("sendInvoice refuses what Telegram refuses for Stars", async () => {
  expect(await errorOf(invoice(12, { currency: "USD" }))).toStartWith(
    "400 Bad Request: CURRENCY_INVALID",
  )
  expect(await errorOf(invoice(12, { provider_token: "284685063:TEST:abc" }))).toStartWith(
    "400 Bad Request: PAYMENT_PROVIDER_INVALID",
  )
  expect(
    await errorOf(
      invoice(12, {
        prices: [
          { label: "a", amount: 10 },
          { label: "b", amount: 40 },
        ],
      }),
    ),
  ).toStartWith("400 Bad Request: STARS_INVOICE_INVALID")
  expect(await errorOf(invoice(12, { prices: [{ label: "x", amount: 0 }] }))).toBe(
    "400 Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
  )
  expect(await errorOf(invoice(12, { prices: [{ label: "x", amount: 1.5 }] }))).toBe(
    "400 Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
  )
  expect(await errorOf(invoice(12, { payload: "x".repeat(129) }))).toBe(
    "400 Bad Request: INVOICE_PAYLOAD_INVALID",
  )
  expect(await errorOf(invoice(12, { title: "x".repeat(33) }))).toStartWith("400 Bad Request")
  expect(FakePayments.of(fake).invoicesTo(12)).toEqual([])
})

test("a purchase: pre-checkout answered ok, then successful_payment reaches a grammY bot", async () => {
  const payments = FakePayments.of(fake)
  const bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } })
  const received: Array<{ payload: string; charge: string; amount: number }> = []
  bot.on("pre_checkout_query", (ctx) =>
    ctx.preCheckoutQuery.total_amount === 50
      ? ctx.answerPreCheckoutQuery(true)
      : ctx.answerPreCheckoutQuery(false, { error_message: "This order is not valid" }),
  )
  bot.on("message:successful_payment", (ctx) => {
    const p = ctx.message.successful_payment
    received.push({
      payload: p.invoice_payload,
      charge: p.telegram_payment_charge_id,
      amount: p.total_amount,
    })
  })
  const running = bot.start({ timeout: 1 })
  try {
    const user = { id: 31, language_code: "en" }
    const paid = await payments.pay(TOKEN, user, { payload: "fw1-order-31", totalAmount: 50 })
    const refused = await payments.pay(TOKEN, user, { payload: "fw1-order-31", totalAmount: 5 })
    expect(refused).toEqual({
      ok: false,
      answer: { ok: false, errorMessage: "This order is not valid" },
    })
    if (!paid.ok) throw new Error("the purchase was refused")
    expect(paid.charge.telegramPaymentChargeId).toStartWith("stx")
    // Telegram delivers the same payment again: the bot sees the same charge id twice.
    payments.injectSuccessfulPayment(TOKEN, user, {
      payload: "fw1-order-31",
      totalAmount: 50,
      telegramPaymentChargeId: paid.charge.telegramPaymentChargeId,
    })
    await until(() => received.length === 2)
    expect(received).toEqual([
      { payload: "fw1-order-31", charge: paid.charge.telegramPaymentChargeId, amount: 50 },
      { payload: "fw1-order-31", charge: paid.charge.telegramPaymentChargeId, amount: 50 },
    ])
  } finally {
    await bot.stop()
    await running
  }
})

test("a pre-checkout query not answered in time cancels the purchase; a late answer is refused", async () => {
  const payments = FakePayments.of(fake)
  payments.preCheckoutTimeoutMs = 50
  try {
    const user = { id: 32 }
    const result = await payments.pay(TOKEN, user, { payload: "fw1-slow", totalAmount: 20 })
    expect(result).toEqual({ ok: false, answer: { ok: false, late: true } })
    const [query] = [...payments.preCheckouts.values()].filter((q) => q.userId === 32)
    expect(await errorOf(api.answerPreCheckoutQuery(query?.id ?? "", true))).toStartWith(
      "400 Bad Request: query is too old",
    )
    expect([...payments.charges.values()].filter((c) => c.userId === 32)).toEqual([])
  } finally {
    payments.preCheckoutTimeoutMs = 10_000
  }
})

test("refundStarPayment refunds a known charge once, for its payer only", async () => {
  const payments = FakePayments.of(fake)
  const charge = payments.injectSuccessfulPayment(
    TOKEN,
    { id: 33 },
    {
      payload: "fw1-refund-me",
      totalAmount: 200,
    },
  )
  const id = charge.telegramPaymentChargeId
  expect(await errorOf(api.refundStarPayment(34, id))).toBe("400 Bad Request: USER_ID_INVALID")
  expect(await errorOf(api.refundStarPayment(33, "stxUNKNOWN"))).toBe(
    "400 Bad Request: CHARGE_ID_INVALID",
  )
  expect(await api.refundStarPayment(33, id)).toBe(true)
  expect(charge.refunded).toBe(true)
  expect(await errorOf(api.refundStarPayment(33, id))).toBe(
    "400 Bad Request: CHARGE_ALREADY_REFUNDED",
  )
  // As Telegram does, the refund (once) is a service message in the payer's chat.
  const updates = await api.getUpdates({ timeout: 0 })
  const refunds = updates.flatMap((u) =>
    u.message?.refunded_payment === undefined
      ? []
      : [{ chat: u.message.chat.id, refunded: u.message.refunded_payment }],
  )
  expect(refunds).toEqual([
    {
      chat: 33,
      refunded: {
        currency: "XTR",
        total_amount: 200,
        invoice_payload: "fw1-refund-me",
        telegram_payment_charge_id: id,
        provider_payment_charge_id: charge.providerPaymentChargeId,
      },
    },
  ])
})
