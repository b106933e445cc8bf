/**
 * Telegram Stars payments for the fake Bot API: `sendInvoice`, `answerPreCheckoutQuery` and
 * `refundStarPayment` as Telegram validates them, and the updates Telegram sends during a
 * purchase (`pre_checkout_query`, then a message with `successful_payment`) and a refund (a
 * service message with `refunded_payment` in the payer's chat). Installed on every
 * `FakeBotApi`; reach it with `FakePayments.of(api)`.
 *
 * Only Stars are supported (currency `XTR`, empty or absent provider token, exactly one price),
 * as Flatwatch sells nothing else.
 */
import type { Answer, CallContext, FakeBotApi, FakeUser } from "./FakeBotApi.ts"

/** An invoice the bot sent. */
export interface FakeInvoice {
  readonly token: string
  readonly chatId: number
  readonly messageId: number
  readonly title: string
  readonly description: string
  readonly payload: string
  readonly currency: string
  readonly totalAmount: number
}

/** A pre-checkout query sent to the bot, and the bot's answer once it came. */
export interface FakePreCheckout {
  readonly id: string
  readonly token: string
  readonly userId: number
  readonly payload: string
  readonly currency: string
  readonly totalAmount: number
  readonly sentAt: number
  answer?: PreCheckoutAnswer
}

export type PreCheckoutAnswer =
  | { readonly ok: true }
  | { readonly ok: false; readonly errorMessage: string }
  /** The bot answered after Telegram's deadline (or never): the purchase is cancelled. */
  | { readonly ok: false; readonly late: true }

/** A completed Stars payment: what `refundStarPayment` can refund. */
export interface FakeCharge {
  readonly token: string
  readonly userId: number
  readonly payload: string
  readonly currency: string
  readonly totalAmount: number
  readonly telegramPaymentChargeId: string
  readonly providerPaymentChargeId: string
  refunded: boolean
}

export interface PaymentParams {
  readonly payload: string
  readonly totalAmount: number
  /** Default `XTR`. */
  readonly currency?: string
}

const ok = (result: unknown): Answer => ({ ok: true, result })
const badRequest = (what: string): Answer => ({
  ok: false,
  error_code: 400,
  description: `Bad Request: ${what}`,
})

const QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

const randomId = (bytes: number): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url")

const registry = new WeakMap<FakeBotApi, FakePayments>()

export class FakePayments {
  readonly invoices: FakeInvoice[] = []
  readonly preCheckouts = new Map<string, FakePreCheckout>()
  readonly charges = new Map<string, FakeCharge>()
  /** Telegram cancels a purchase whose pre-checkout query is not answered within 10 s. */
  preCheckoutTimeoutMs = 10_000
  private nextQueryId = 1
  private nextCharge = 1
  private readonly answerWaiters = new Map<string, Array<() => void>>()

  private constructor(private readonly api: FakeBotApi) {}

  /** The payments extension of `api`. */
  static of(api: FakeBotApi): FakePayments {
    const existing = registry.get(api)
    if (existing !== undefined) return existing
    const payments = new FakePayments(api)
    registry.set(api, payments)
    return payments
  }

  /** Invoices sent to one chat, in order. */
  invoicesTo(chatId: number): FakeInvoice[] {
    return this.invoices.filter((i) => i.chatId === chatId)
  }

  /** The user pressed "Pay": Telegram asks the bot to confirm. Returns the query id. */
  injectPreCheckoutQuery(token: string, from: FakeUser, payment: PaymentParams): string {
    const id = `${Date.now()}${this.nextQueryId++}`
    const currency = payment.currency ?? "XTR"
    this.preCheckouts.set(id, {
      id,
      token,
      userId: from.id,
      payload: payment.payload,
      currency,
      totalAmount: payment.totalAmount,
      sentAt: Date.now(),
    })
    this.api.injectUpdate(token, {
      pre_checkout_query: {
        id,
        from: { is_bot: false, first_name: "User", ...from },
        currency,
        total_amount: payment.totalAmount,
        invoice_payload: payment.payload,
      },
    })
    return id
  }

  /** Resolves with the bot's answer to a pre-checkout query, or `late` after the deadline. */
  async preCheckoutAnswer(queryId: string): Promise<PreCheckoutAnswer> {
    const query = this.preCheckouts.get(queryId)
    if (query === undefined) throw new Error(`no pre-checkout query ${queryId}`)
    if (query.answer === undefined) {
      const remaining = query.sentAt + this.preCheckoutTimeoutMs - Date.now()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(remaining, 0))
        const waiters = this.answerWaiters.get(queryId) ?? []
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
        this.answerWaiters.set(queryId, waiters)
      })
    }
    query.answer ??= { ok: false, late: true }
    return query.answer
  }

  private answered(query: FakePreCheckout, answer: PreCheckoutAnswer): void {
    query.answer = answer
    const waiters = this.answerWaiters.get(query.id) ?? []
    this.answerWaiters.delete(query.id)
    for (const w of waiters) w()
  }

  /**
   * Telegram charged the user: the bot gets a message with `successful_payment`. Calling it
   * again with the same `telegramPaymentChargeId` models Telegram delivering the update twice.
   */
  injectSuccessfulPayment(
    token: string,
    from: FakeUser,
    payment: PaymentParams & { readonly telegramPaymentChargeId?: string },
  ): FakeCharge {
    const telegramPaymentChargeId = payment.telegramPaymentChargeId ?? `stx${randomId(24)}`
    const charge: FakeCharge = this.charges.get(telegramPaymentChargeId) ?? {
      token,
      userId: from.id,
      payload: payment.payload,
      currency: payment.currency ?? "XTR",
      totalAmount: payment.totalAmount,
      telegramPaymentChargeId,
      providerPaymentChargeId: `${from.id}_${this.nextCharge++}`,
      refunded: false,
    }
    this.charges.set(telegramPaymentChargeId, charge)
    this.api.injectUpdate(token, {
      message: {
        message_id: this.api.messageId(from.id),
        date: Math.floor(Date.now() / 1000),
        chat: { id: from.id, type: "private", first_name: from.first_name ?? "User" },
        from: { is_bot: false, first_name: "User", ...from },
        successful_payment: {
          currency: charge.currency,
          total_amount: charge.totalAmount,
          invoice_payload: charge.payload,
          telegram_payment_charge_id: charge.telegramPaymentChargeId,
          provider_payment_charge_id: charge.providerPaymentChargeId,
        },
      },
    })
    return charge
  }

  /**
   * Telegram refunded a charge: the payer's chat gets a service message with `refunded_payment`,
   * which the bot receives as a message update. `refundStarPayment` sends it; call this directly
   * for a refund made some other way. Returns the update id.
   */
  injectRefundedPayment(charge: FakeCharge): number {
    const payer = { id: charge.userId, is_bot: false, first_name: "User" }
    return this.api.injectUpdate(charge.token, {
      message: {
        message_id: this.api.messageId(charge.userId),
        date: Math.floor(Date.now() / 1000),
        chat: { id: charge.userId, type: "private", first_name: "User" },
        from: payer,
        refunded_payment: {
          currency: charge.currency,
          total_amount: charge.totalAmount,
          invoice_payload: charge.payload,
          telegram_payment_charge_id: charge.telegramPaymentChargeId,
          provider_payment_charge_id: charge.providerPaymentChargeId,
        },
      },
    })
  }

  /**
   * The whole purchase as Telegram runs it: a pre-checkout query; if the bot answers ok in
   * time, the charge and the `successful_payment` message; otherwise nothing is charged.
   */
  async pay(
    token: string,
    from: FakeUser,
    payment: PaymentParams,
  ): Promise<
    | { readonly ok: true; readonly charge: FakeCharge }
    | { readonly ok: false; readonly answer: PreCheckoutAnswer }
  > {
    const queryId = this.injectPreCheckoutQuery(token, from, payment)
    const answer = await this.preCheckoutAnswer(queryId)
    if (!answer.ok) return { ok: false, answer }
    return { ok: true, charge: this.injectSuccessfulPayment(token, from, payment) }
  }

  /** Pays an invoice the bot sent, for its exact amount. */
  payInvoice(from: FakeUser, invoice: FakeInvoice) {
    return this.pay(invoice.token, from, {
      payload: invoice.payload,
      totalAmount: invoice.totalAmount,
      currency: invoice.currency,
    })
  }

  sendInvoice({ token, params }: CallContext): Answer {
    const text = (v: unknown) => (typeof v === "string" ? v : undefined)
    const title = text(params.title)
    const description = text(params.description)
    const payload = text(params.payload)
    const currency = text(params.currency)
    const providerToken = params.provider_token
    if (params.chat_id === undefined) return badRequest("chat_id is empty")
    if (title === undefined || title.length < 1 || title.length > 32) {
      return badRequest("invoice title must be 1-32 characters")
    }
    if (description === undefined || description.length < 1 || description.length > 255) {
      return badRequest("invoice description must be 1-255 characters")
    }
    const payloadBytes = payload === undefined ? 0 : new TextEncoder().encode(payload).length
    if (payloadBytes < 1 || payloadBytes > 128) return badRequest("INVOICE_PAYLOAD_INVALID")
    if (currency !== "XTR") return badRequest("CURRENCY_INVALID: only XTR (Telegram Stars)")
    if (providerToken !== undefined && providerToken !== "") {
      return badRequest("PAYMENT_PROVIDER_INVALID: Stars invoices take an empty provider token")
    }
    const prices = params.prices
    if (!Array.isArray(prices) || prices.length !== 1) {
      return badRequest("STARS_INVOICE_INVALID: exactly one price is required")
    }
    const [price] = prices as Array<{ label?: unknown; amount?: unknown }>
    const amount = Number(price?.amount)
    if (typeof price?.label !== "string" || price.label.length === 0) {
      return badRequest("price label is empty")
    }
    if (!Number.isInteger(amount) || amount < 1 || amount > 100_000) {
      return badRequest("CURRENCY_TOTAL_AMOUNT_INVALID")
    }
    const message = this.api.botMessage(token, params, {
      invoice: { title, description, start_parameter: "", currency, total_amount: amount },
    })
    this.invoices.push({
      token,
      chatId: Number(params.chat_id),
      messageId: message.message_id,
      title,
      description,
      payload: payload ?? "",
      currency,
      totalAmount: amount,
    })
    return ok(message)
  }

  answerPreCheckoutQuery({ params }: CallContext): Answer {
    const query = this.preCheckouts.get(String(params.pre_checkout_query_id))
    if (query === undefined || query.answer !== undefined) return badRequest(QUERY_INVALID)
    if (Date.now() - query.sentAt > this.preCheckoutTimeoutMs) {
      this.answered(query, { ok: false, late: true })
      return badRequest(QUERY_INVALID)
    }
    const isOk = params.ok === true || params.ok === "true"
    if (isOk) {
      this.answered(query, { ok: true })
      return ok(true)
    }
    const errorMessage = params.error_message
    if (typeof errorMessage !== "string" || errorMessage.length === 0) {
      return badRequest("ERROR_MESSAGE_EMPTY: error_message is required when ok is false")
    }
    this.answered(query, { ok: false, errorMessage })
    return ok(true)
  }

  refundStarPayment({ token, params }: CallContext): Answer {
    const charge = this.charges.get(String(params.telegram_payment_charge_id))
    if (charge === undefined || charge.token !== token) return badRequest("CHARGE_ID_INVALID")
    if (Number(params.user_id) !== charge.userId) return badRequest("USER_ID_INVALID")
    if (charge.refunded) return badRequest("CHARGE_ALREADY_REFUNDED")
    charge.refunded = true
    this.injectRefundedPayment(charge)
    return ok(true)
  }
}

/** Adds the payment methods to a fake (FakeBotApi does this for every instance). */
export const installPayments = (api: FakeBotApi): void => {
  const payments = FakePayments.of(api)
  api.handlers.set("sendInvoice", (ctx) => payments.sendInvoice(ctx))
  api.handlers.set("answerPreCheckoutQuery", (ctx) => payments.answerPreCheckoutQuery(ctx))
  api.handlers.set("refundStarPayment", (ctx) => payments.refundStarPayment(ctx))
}
