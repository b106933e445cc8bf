/**
 * What makes the fake Bot API behave like Telegram when sending, installed on every
 * `FakeBotApi` as `fake.limits`:
 *
 * Always on (Telegram always does this):
 * - `sendPhoto` (by URL or upload) next to `sendMessage`;
 * - `parse_mode: "HTML"` parsed like Telegram: unknown or unbalanced tags -> 400 "can't parse
 *   entities"; text longer than 4096 or a caption longer than 1024 after entities -> 400;
 * - inline keyboards checked: button URLs must be http(s)/tg, callback data 1-64 bytes;
 * - `delivered`: every message Telegram would have shown, in order.
 *
 * Opt-in (so tests of conversations are not throttled): `rateLimit()` enforces Telegram's limits
 * (default 30 msg/s overall, 1 msg/s per chat) with 429 and `retry_after`.
 *
 * Scripted faults: `blockChat` (403), `breakPhoto` (400 for a photo URL), `failNext` (5xx
 * bursts), `nonJsonNext` (an HTML error page), `rateLimitNext` (429), `slowAnswers`, `fault`.
 */
import type { Answer, CallContext, FakeBotApi, MethodHandler, Params } from "./FakeBotApi.ts"

export interface RateLimits {
  /** Messages per second over all chats (sliding one-second window). */
  readonly global: number
  /** Messages per second to one chat (minimum spacing `1 / perChat` s). */
  readonly perChat: number
}

export interface DeliveredMessage {
  readonly token: string
  readonly method: string
  readonly chatId: number
  readonly messageId: number
  /** `text` or `caption` exactly as sent. */
  readonly raw: string
  /** What the user sees: entities parsed when `parse_mode` was HTML. */
  readonly text: string
  readonly html: boolean
  readonly photo?: string
  readonly buttons: ReadonlyArray<ReadonlyArray<Readonly<Record<string, unknown>>>>
  readonly at: number
}

type FaultAnswer = Answer | (() => Response)

interface Fault {
  readonly match: (ctx: CallContext) => boolean
  readonly answer: FaultAnswer
  remaining: number
}

const MESSAGE_LIMIT = 4096
const CAPTION_LIMIT = 1024

/** Methods that post a message in a chat (what Telegram's flood limits count). */
export const isSendMethod = (method: string): boolean =>
  (method.startsWith("send") && method !== "sendChatAction") ||
  method === "copyMessage" ||
  method === "forwardMessage"

const badRequest = (description: string): Answer => ({
  ok: false,
  error_code: 400,
  description: `Bad Request: ${description}`,
})

const SUPPORTED_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "span",
  "pre",
  "code",
  "blockquote",
])

const ENTITY = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);/

const byteOffset = (text: string, index: number) => Buffer.byteLength(text.slice(0, index))

/**
 * Parses Telegram HTML the way the Bot API does (the rules of `parse_mode: "HTML"`): supported
 * tags only, properly nested; `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities decoded; any
 * other `&` kept. Returns the visible text, or the error Telegram would give.
 */
export const parseTelegramHtml = (
  html: string,
):
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly error: string } => {
  const fail = (error: string) => ({ ok: false as const, error: `can't parse entities: ${error}` })
  const stack: string[] = []
  let text = ""
  let i = 0
  while (i < html.length) {
    const c = html.charAt(i)
    if (c === "&") {
      const m = ENTITY.exec(html.slice(i, i + 12))
      if (m !== null) {
        const name = m[1] ?? ""
        if (name.startsWith("#")) {
          const code = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1))
          if (code > 0 && code <= 0x10ffff) {
            text += String.fromCodePoint(code)
            i += m[0].length
            continue
          }
        } else {
          text += name === "lt" ? "<" : name === "gt" ? ">" : name === "amp" ? "&" : '"'
          i += m[0].length
          continue
        }
      }
      text += "&"
      i += 1
      continue
    }
    if (c !== "<") {
      text += c
      i += 1
      continue
    }
    const at = byteOffset(html, i)
    const close = html.indexOf(">", i)
    if (html.charAt(i + 1) === "/") {
      if (close < 0) return fail(`Unclosed end tag at byte offset ${at}`)
      const name = html
        .slice(i + 2, close)
        .trim()
        .toLowerCase()
      const open = stack.pop()
      if (open === undefined) return fail(`Unexpected end tag at byte offset ${at}`)
      if (name !== open) {
        return fail(
          `Unmatched end tag at byte offset ${at}, expected "</${open}>", found "</${name}>"`,
        )
      }
      i = close + 1
      continue
    }
    const tag = /^<([a-zA-Z][a-zA-Z0-9-]*)/.exec(html.slice(i, i + 64))
    const name = tag?.[1]?.toLowerCase() ?? ""
    if (!SUPPORTED_TAGS.has(name)) {
      return fail(`Unsupported start tag "${name}" at byte offset ${at}`)
    }
    if (close < 0) return fail(`Unclosed start tag at byte offset ${at}`)
    const attributes = new Map<string, string>()
    const attributeText = html.slice(i + 1 + name.length, close).replace(/\s*\/?\s*$/, "")
    const attribute = /\s+([a-zA-Z-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"']+))?/y
    let pos = 0
    while (pos < attributeText.length) {
      attribute.lastIndex = pos
      const a = attribute.exec(attributeText)
      if (a === null) {
        return fail(`Expected equal sign in declaration of an attribute of the tag "${name}"`)
      }
      const value = a[2] ?? ""
      attributes.set(
        (a[1] ?? "").toLowerCase(),
        value.startsWith('"') || value.startsWith("'") ? value.slice(1, -1) : value,
      )
      pos = attribute.lastIndex
    }
    if (name === "span" && attributes.get("class") !== "tg-spoiler") {
      return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`)
    }
    if (name === "tg-emoji" && !/^\d+$/.test(attributes.get("emoji-id") ?? "")) {
      return fail(
        `Custom emoji entity must contain a valid custom emoji identifier at byte offset ${at}`,
      )
    }
    stack.push(name)
    i = close + 1
  }
  const open = stack.pop()
  if (open !== undefined) return fail(`Can't find end tag corresponding to start tag "${open}"`)
  return { ok: true, text }
}

const validateKeyboard = (params: Params): Answer | undefined => {
  const markup = params.reply_markup as { inline_keyboard?: unknown } | undefined
  if (markup === undefined || markup.inline_keyboard === undefined) return undefined
  if (!Array.isArray(markup.inline_keyboard)) {
    return badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array')
  }
  for (const row of markup.inline_keyboard as unknown[]) {
    if (!Array.isArray(row)) return badRequest("inline keyboard rows must be Arrays")
    for (const raw of row as unknown[]) {
      const button = (raw ?? {}) as Record<string, unknown>
      if (typeof button.text !== "string" || button.text.length === 0) {
        return badRequest("text buttons are unallowed in the inline keyboard")
      }
      if (typeof button.url === "string") {
        let protocol = ""
        try {
          protocol = new URL(button.url).protocol
        } catch {}
        if (protocol !== "http:" && protocol !== "https:" && protocol !== "tg:") {
          return badRequest(
            `inline keyboard button URL '${button.url}' is invalid: Unsupported URL protocol`,
          )
        }
      }
      if (button.callback_data !== undefined) {
        const bytes =
          typeof button.callback_data === "string" ? Buffer.byteLength(button.callback_data) : 0
        if (bytes < 1 || bytes > 64) return badRequest("BUTTON_DATA_INVALID")
      }
    }
  }
  return undefined
}

/** The visible text of `text`/`caption` under `parse_mode`, or Telegram's 400. */
const visibleText = (
  raw: string,
  parseMode: unknown,
):
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly answer: Answer } => {
  if (parseMode === undefined || parseMode === null || parseMode === "")
    return { ok: true, text: raw }
  if (typeof parseMode !== "string" || parseMode.toUpperCase() !== "HTML") {
    // MarkdownV2 is not used by Flatwatch; the fake does not pretend to parse it.
    return { ok: false, answer: badRequest(`unsupported parse_mode "${String(parseMode)}"`) }
  }
  const parsed = parseTelegramHtml(raw)
  return parsed.ok
    ? { ok: true, text: parsed.text }
    : { ok: false, answer: badRequest(parsed.error) }
}

export class FakeBotApiLimits {
  /** Every message that was delivered (answered ok), in order. */
  readonly delivered: DeliveredMessage[] = []
  /** How many 429 answers were given. */
  rateLimitedAnswers = 0
  private limits: RateLimits | undefined
  private readonly recent: number[] = []
  private readonly lastToChat = new Map<number, number>()
  private readonly blocked = new Map<number, string>()
  private readonly brokenPhotos = new Map<string, string>()
  private readonly faults: Fault[] = []
  private slow: { readonly ms: number; readonly match: (ctx: CallContext) => boolean } | undefined
  private readonly deliveryWaiters: Array<() => void> = []

  constructor(private readonly api: FakeBotApi) {
    api.interceptors.push((ctx) => this.intercept(ctx))
    if (!api.handlers.has("sendPhoto")) api.handlers.set("sendPhoto", sendPhotoHandler)
    this.wrap("sendMessage", (ctx, next) => this.checkMessage(ctx, next))
    this.wrap("sendPhoto", (ctx, next) => this.checkPhoto(ctx, next))
    this.wrap("editMessageText", async (ctx, next) => {
      const text = visibleText(String(ctx.params.text ?? ""), ctx.params.parse_mode)
      if (!text.ok) return text.answer
      if (text.text.length > MESSAGE_LIMIT) return badRequest("MESSAGE_TOO_LONG")
      return validateKeyboard(ctx.params) ?? next(ctx)
    })
  }

  /** Enforces Telegram's flood limits from now on (default 30 msg/s, 1 msg/s per chat). */
  rateLimit(limits: Partial<RateLimits> = {}): void {
    this.limits = { global: limits.global ?? 30, perChat: limits.perChat ?? 1 }
  }

  /** Stops enforcing the flood limits (the default). */
  noRateLimit(): void {
    this.limits = undefined
  }

  /** Sends to `chatId` get 403 from now on, as when the user blocked the bot. */
  blockChat(chatId: number, description = "Forbidden: bot was blocked by the user"): void {
    this.blocked.set(chatId, description)
  }

  unblockChat(chatId: number): void {
    this.blocked.delete(chatId)
  }

  /** `sendPhoto` with this URL gets 400, as when Telegram cannot fetch the picture. */
  breakPhoto(url: string, description = "Bad Request: wrong type of the web page content"): void {
    this.brokenPhotos.set(url, description)
  }

  /** The next `count` matching calls get this answer (a function: any HTTP response). */
  fault(match: (ctx: CallContext) => boolean, answer: FaultAnswer, count = 1): void {
    this.faults.push({ match, answer, remaining: count })
  }

  /** The next `count` sends fail with a 5xx (default 502 Bad Gateway). */
  failNext(count: number, code = 502, description = "Bad Gateway"): void {
    this.fault(
      (ctx) => isSendMethod(ctx.method),
      { ok: false, error_code: code, description },
      count,
    )
  }

  /** The next `count` sends get an HTML error page instead of JSON, as from a proxy. */
  nonJsonNext(count: number, status = 502): void {
    this.fault(
      (ctx) => isSendMethod(ctx.method),
      () =>
        new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
          status,
          headers: { "content-type": "text/html" },
        }),
      count,
    )
  }

  /** The next `count` sends get 429 with `retry_after` seconds. */
  rateLimitNext(count: number, retryAfter: number): void {
    this.fault(
      (ctx) => isSendMethod(ctx.method),
      {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      },
      count,
    )
  }

  /**
   * Matching sends are delivered but answered `ms` later (a slow Telegram: the message exists
   * even if the caller gave up waiting). `slowAnswers(0)` turns it off.
   */
  slowAnswers(ms: number, match: (ctx: CallContext) => boolean = () => true): void {
    this.slow = ms > 0 ? { ms, match } : undefined
  }

  deliveredTo(chatId: number): DeliveredMessage[] {
    return this.delivered.filter((m) => m.chatId === chatId)
  }

  /** Resolves once at least `count` messages have been delivered. */
  async waitForDelivered(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.delivered.length < count) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) {
        throw new Error(
          `only ${this.delivered.length} of ${count} messages delivered in ${timeoutMs} ms`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 1000))
        this.deliveryWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private wrap(
    method: string,
    check: (ctx: CallContext, next: MethodHandler) => Answer | Promise<Answer>,
  ): void {
    const next: MethodHandler = (ctx) => {
      const original = this.original.get(method)
      return original === undefined ? badRequest("method not found") : original(ctx)
    }
    const existing = this.api.handlers.get(method)
    if (existing !== undefined) this.original.set(method, existing)
    this.api.handlers.set(method, (ctx) => check(ctx, next))
  }

  private readonly original = new Map<string, MethodHandler>()

  private async intercept(ctx: CallContext): Promise<Answer | Response | undefined> {
    for (const fault of this.faults) {
      if (fault.remaining > 0 && fault.match(ctx)) {
        fault.remaining -= 1
        if (typeof fault.answer === "function") return fault.answer()
        if (!fault.answer.ok && fault.answer.error_code === 429) this.rateLimitedAnswers += 1
        return fault.answer
      }
    }
    if (!isSendMethod(ctx.method)) return undefined
    const chatId = Number(ctx.params.chat_id)
    const limited = this.checkRate(chatId)
    if (limited !== undefined) return limited
    const blocked = this.blocked.get(chatId)
    if (blocked !== undefined) return { ok: false, error_code: 403, description: blocked }
    return undefined
  }

  private checkRate(chatId: number): Answer | undefined {
    if (this.limits === undefined) return undefined
    const now = performance.now()
    while (this.recent.length > 0 && (this.recent[0] ?? 0) <= now - 1000) this.recent.shift()
    let waitMs = 0
    if (this.recent.length >= this.limits.global) waitMs = (this.recent[0] ?? now) + 1000 - now
    const last = this.lastToChat.get(chatId)
    const spacing = 1000 / this.limits.perChat
    if (last !== undefined && now - last < spacing) waitMs = Math.max(waitMs, last + spacing - now)
    if (waitMs > 0) {
      this.rateLimitedAnswers += 1
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
      return {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      }
    }
    this.recent.push(now)
    this.lastToChat.set(chatId, now)
    return undefined
  }

  private async checkMessage(ctx: CallContext, next: MethodHandler): Promise<Answer> {
    const raw = typeof ctx.params.text === "string" ? ctx.params.text : ""
    const text = visibleText(raw, ctx.params.parse_mode)
    if (!text.ok) return text.answer
    if (text.text.trim().length === 0) return badRequest("message text is empty")
    if (text.text.length > MESSAGE_LIMIT) return badRequest("message is too long")
    const invalid = validateKeyboard(ctx.params)
    if (invalid !== undefined) return invalid
    return this.deliver(ctx, next, raw, text.text)
  }

  private async checkPhoto(ctx: CallContext, next: MethodHandler): Promise<Answer> {
    const photo = ctx.params.photo
    if (photo === undefined || photo === null || photo === "") {
      return badRequest("there is no photo in the request")
    }
    if (typeof photo === "string") {
      const broken = this.brokenPhotos.get(photo)
      if (broken !== undefined) return { ok: false, error_code: 400, description: broken }
      if (/^\w+:/.test(photo) && !/^https?:\/\//i.test(photo)) {
        return badRequest("wrong file identifier/HTTP URL specified")
      }
    }
    const raw = typeof ctx.params.caption === "string" ? ctx.params.caption : ""
    const caption = visibleText(raw, ctx.params.parse_mode)
    if (!caption.ok) return caption.answer
    if (caption.text.length > CAPTION_LIMIT) return badRequest("message caption is too long")
    const invalid = validateKeyboard(ctx.params)
    if (invalid !== undefined) return invalid
    const url = typeof photo === "string" ? photo : "upload"
    return this.deliver(ctx, next, raw, caption.text, url)
  }

  private async deliver(
    ctx: CallContext,
    next: MethodHandler,
    raw: string,
    text: string,
    photo?: string,
  ): Promise<Answer> {
    const answer = await next(ctx)
    if (answer.ok) {
      const result = answer.result as { message_id?: unknown }
      const markup = ctx.params.reply_markup as { inline_keyboard?: unknown } | undefined
      this.delivered.push({
        token: ctx.token,
        method: ctx.method,
        chatId: Number(ctx.params.chat_id),
        messageId: Number(result.message_id),
        raw,
        text,
        html: typeof ctx.params.parse_mode === "string",
        ...(photo === undefined ? {} : { photo }),
        buttons: Array.isArray(markup?.inline_keyboard)
          ? (markup.inline_keyboard as DeliveredMessage["buttons"])
          : [],
        at: Date.now(),
      })
      for (const w of this.deliveryWaiters.splice(0)) w()
    }
    const slow = this.slow
    if (slow?.match(ctx)) await Bun.sleep(slow.ms)
    return answer
  }
}

/** The default `sendPhoto`: a Message with the photo and its caption. */
export const sendPhotoHandler: MethodHandler = ({ api, token, params }) => ({
  ok: true,
  result: api.botMessage(token, params, {
    photo: [
      { file_id: "AgAD-fake-small", file_unique_id: "fake-s", width: 90, height: 60 },
      { file_id: "AgAD-fake-large", file_unique_id: "fake-l", width: 1280, height: 853 },
    ],
    ...(typeof params.caption === "string" ? { caption: params.caption } : {}),
  }),
})
