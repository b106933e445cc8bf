/**
 * A fake Telegram Bot API server for tests: real HTTP (`Bun.serve`), the real wire format
 * (`/bot<token>/<method>`, JSON, form or multipart bodies, `{ ok, result }` answers), real long
 * polling. It records every call, lets a test inject updates as a user would cause them, and
 * rejects unknown tokens with 401 like Telegram. Tests of other projects can use it too.
 */
import { Effect, type Scope } from "effect"
import { FakeBotApiLimits } from "./FakeBotApiLimits.ts"
import { installPayments } from "./FakeBotApiPayments.ts"

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type Params = Record<string, unknown>

export interface RecordedCall {
  readonly token: string
  readonly method: string
  readonly params: Params
  readonly at: number
}

export interface FakeUser {
  readonly id: number
  readonly first_name?: string
  readonly username?: string
  readonly language_code?: string
}

/** What a method handler answers: a result (200 ok) or a Bot API error. */
export type Answer =
  | { readonly ok: true; readonly result: unknown }
  | {
      readonly ok: false
      readonly error_code: number
      readonly description: string
      readonly parameters?: { readonly retry_after?: number; readonly migrate_to_chat_id?: number }
    }

export interface CallContext {
  readonly token: string
  readonly method: string
  readonly params: Params
  readonly api: FakeBotApi
}

export type MethodHandler = (ctx: CallContext) => Answer | Promise<Answer>

/**
 * Runs before the method handler; returning an answer short-circuits it (a scripted fault:
 * 5xx, 403 for a chat, a slow answer, ...; a `Response` for a non-JSON answer). Returning
 * undefined lets the call through.
 */
export type Interceptor = (
  ctx: CallContext,
) => Answer | Response | undefined | Promise<Answer | Response | undefined>

export interface FakeBotApiOptions {
  /** Port on 127.0.0.1; default a free one. */
  readonly port?: number
  /** Tokens accepted; any other gets 401 Unauthorized. */
  readonly tokens: ReadonlyArray<string>
  readonly botUsername?: string
}

export const ok = (result: unknown): Answer => ({ ok: true, result })
export const fail = (
  error_code: number,
  description: string,
  parameters?: { retry_after?: number },
): Answer =>
  parameters === undefined
    ? { ok: false, error_code, description }
    : { ok: false, error_code, description, parameters }

interface Waiter {
  readonly resolve: () => void
}

const parseParams = async (req: Request, url: URL): Promise<Params> => {
  const params: Params = Object.fromEntries(url.searchParams)
  if (req.method !== "POST") return params
  const type = req.headers.get("content-type") ?? ""
  if (type.includes("application/json")) {
    const text = await req.text()
    if (text.length === 0) return params
    return { ...params, ...(JSON.parse(text) as Params) }
  }
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    const form = await req.formData()
    for (const [key, value] of form.entries()) {
      // Telegram accepts JSON-serialised objects (reply_markup, entities) in form fields.
      if (typeof value === "string") {
        try {
          params[key] = /^[[{]/.test(value) ? JSON.parse(value) : value
        } catch {
          params[key] = value
        }
      } else {
        params[key] = { file: value.name, size: value.size }
      }
    }
  }
  return params
}

export class FakeBotApi {
  readonly calls: RecordedCall[] = []
  readonly handlers = new Map<string, MethodHandler>()
  readonly interceptors: Interceptor[] = []
  /** Updates waiting to be fetched, per token. */
  private readonly queues = new Map<
    string,
    Array<{ update_id: number } & Record<string, unknown>>
  >()
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly tokens = new Set<string>()
  private readonly callWaiters: Array<() => void> = []
  private nextUpdateId = 1
  private nextMessageId = new Map<number, number>()
  private server: ReturnType<typeof Bun.serve> | undefined
  readonly botUsername: string
  /** Telegram's checks, flood limits and scripted faults for sends (FakeBotApiLimits.ts). */
  readonly limits: FakeBotApiLimits

  private constructor(options: FakeBotApiOptions) {
    for (const t of options.tokens) this.tokens.add(t)
    this.botUsername = options.botUsername ?? "flatwatch_test_bot"
    this.installDefaultHandlers()
    this.limits = new FakeBotApiLimits(this)
  }

  /** Starts a fake on 127.0.0.1; stop it with `stop()`. */
  static async start(options: FakeBotApiOptions): Promise<FakeBotApi> {
    const api = new FakeBotApi(options)
    api.server = Bun.serve({
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      idleTimeout: 120,
      fetch: (req) => api.handle(req),
    })
    return api
  }

  /** The same, as a scoped resource. */
  static scoped(options: FakeBotApiOptions): Effect.Effect<FakeBotApi, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.promise(() => FakeBotApi.start(options)),
      (api) => Effect.promise(() => api.stop()),
    )
  }

  /** What to set as `TELEGRAM_API_ROOT`. */
  get apiRoot(): string {
    if (this.server === undefined) throw new Error("FakeBotApi is not started")
    return `http://127.0.0.1:${this.server.port}`
  }

  get port(): number {
    return this.server?.port ?? 0
  }

  async stop(): Promise<void> {
    for (const list of this.waiters.values()) for (const w of list) w.resolve()
    await this.server?.stop(true)
    this.server = undefined
  }

  acceptToken(token: string): void {
    this.tokens.add(token)
  }

  /** From now on the token gets 401, as a revoked token does. */
  rejectToken(token: string): void {
    this.tokens.delete(token)
  }

  /** Calls of one method (optionally of one token), in order. */
  callsTo(method: string, token?: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method === method && (token === undefined || c.token === token),
    )
  }

  /** Messages the bot sent to a chat (sendMessage, sendPhoto, sendInvoice ...), in order. */
  sentTo(chatId: number): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method.startsWith("send") && Number(c.params.chat_id) === chatId,
    )
  }

  /** Resolves with the first recorded call (past or future) that satisfies `predicate`. */
  async waitForCall(
    predicate: (call: RecordedCall) => boolean,
    timeoutMs = 10_000,
  ): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs
    let seen = 0
    for (;;) {
      for (; seen < this.calls.length; seen++) {
        const call = this.calls[seen]
        if (call !== undefined && predicate(call)) return call
      }
      const remaining = deadline - Date.now()
      if (remaining <= 0) {
        throw new Error(
          `no matching Bot API call within ${timeoutMs} ms; calls so far: ${this.calls
            .map((c) => c.method)
            .join(", ")}`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.callWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Queues a raw update (without `update_id`, which is assigned here) for `token`. */
  injectUpdate(token: string, update: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++
    const queue = this.queues.get(token) ?? []
    queue.push({ update_id, ...update })
    this.queues.set(token, queue)
    const waiting = this.waiters.get(token) ?? []
    this.waiters.set(token, [])
    for (const w of waiting) w.resolve()
    return update_id
  }

  /** A user sends a text message (a command when it starts with `/`) in their private chat. */
  injectMessage(token: string, from: FakeUser, text: string): number {
    const entities = text.startsWith("/")
      ? [{ type: "bot_command", offset: 0, length: text.split(/\s/)[0]?.length ?? 1 }]
      : undefined
    return this.injectUpdate(token, {
      message: {
        message_id: this.messageId(from.id),
        date: Math.floor(Date.now() / 1000),
        chat: { id: from.id, type: "private", first_name: from.first_name ?? "User" },
        from: { is_bot: false, first_name: "User", ...from },
        text,
        ...(entities ? { entities } : {}),
      },
    })
  }

  /** A user presses an inline button with `data` under the bot's message `messageId`. */
  injectCallbackQuery(token: string, from: FakeUser, data: string, messageId = 1): number {
    return this.injectUpdate(token, {
      callback_query: {
        id: `cq${this.nextUpdateId}`,
        from: { is_bot: false, first_name: "User", ...from },
        chat_instance: `ci${from.id}`,
        data,
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: from.id, type: "private" },
          from: { id: this.botId(token), is_bot: true, first_name: "Flatwatch" },
          text: "…",
        },
      },
    })
  }

  /** Next message id in a chat (ids grow per chat, as in Telegram). */
  messageId(chatId: number): number {
    const next = (this.nextMessageId.get(chatId) ?? 0) + 1
    this.nextMessageId.set(chatId, next)
    return next
  }

  botId(token: string): number {
    return Number(token.split(":")[0])
  }

  /** A Message object as Telegram returns it for something the bot sent. */
  botMessage(token: string, params: Params, extra: Record<string, unknown> = {}) {
    const chatId = Number(params.chat_id)
    return {
      message_id: this.messageId(chatId),
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private" },
      from: {
        id: this.botId(token),
        is_bot: true,
        first_name: "Flatwatch",
        username: this.botUsername,
      },
      ...extra,
    }
  }

  private installDefaultHandlers() {
    this.handlers.set("getMe", ({ token }) =>
      ok({
        id: this.botId(token),
        is_bot: true,
        first_name: "Flatwatch",
        username: this.botUsername,
        can_join_groups: false,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
      }),
    )
    this.handlers.set("getUpdates", (ctx) => this.getUpdates(ctx))
    this.handlers.set("deleteWebhook", () => ok(true))
    this.handlers.set("setWebhook", () => ok(true))
    this.handlers.set("setMyCommands", () => ok(true))
    this.handlers.set("getMyCommands", () => ok([]))
    this.handlers.set("answerCallbackQuery", () => ok(true))
    this.handlers.set("sendChatAction", () => ok(true))
    this.handlers.set("deleteMessage", () => ok(true))
    this.handlers.set("sendMessage", ({ token, params }) => {
      if (typeof params.text !== "string" || params.text.length === 0) {
        return fail(400, "Bad Request: message text is empty")
      }
      return ok(this.botMessage(token, params, { text: params.text }))
    })
    this.handlers.set("editMessageText", ({ token, params }) =>
      ok(
        this.botMessage(token, params, {
          message_id: Number(params.message_id),
          text: params.text,
          edit_date: Math.floor(Date.now() / 1000),
        }),
      ),
    )
    this.handlers.set("editMessageReplyMarkup", ({ token, params }) =>
      ok(this.botMessage(token, params, { message_id: Number(params.message_id) })),
    )
    installPayments(this)
  }

  private async getUpdates({ token, params }: CallContext): Promise<Answer> {
    const offset = Number(params.offset ?? 0)
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100)
    const timeout = Math.min(Math.max(Number(params.timeout ?? 0), 0), 50)
    const take = () => {
      let queue = this.queues.get(token) ?? []
      // Like Telegram, asking from `offset` confirms (forgets) every earlier update.
      if (offset > 0) queue = queue.filter((u) => u.update_id >= offset)
      this.queues.set(token, queue)
      return queue.slice(0, limit)
    }
    let updates = take()
    if (updates.length === 0 && timeout > 0 && this.server !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout * 1000)
        const list = this.waiters.get(token) ?? []
        list.push({
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
        this.waiters.set(token, list)
      })
      updates = take()
    }
    return ok(updates)
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname)
    if (match === null) return Response.json(fail(404, "Not Found"), { status: 404 })
    const [, token = "", method = ""] = match
    if (!this.tokens.has(token)) {
      return Response.json(fail(401, "Unauthorized"), { status: 401 })
    }
    let params: Params
    try {
      params = await parseParams(req, url)
    } catch {
      return Response.json(fail(400, "Bad Request: can't parse request body"), { status: 400 })
    }
    const ctx: CallContext = { token, method, params, api: this }
    this.calls.push({ token, method, params, at: Date.now() })
    const waiters = this.callWaiters.splice(0)
    for (const w of waiters) w()
    let answer: Answer | undefined
    for (const intercept of this.interceptors) {
      const intercepted = await intercept(ctx)
      if (intercepted instanceof Response) return intercepted
      answer = intercepted
      if (answer !== undefined) break
    }
    if (answer === undefined) {
      const handler = this.handlers.get(method)
      answer = handler === undefined ? fail(404, "Not Found: method not found") : await handler(ctx)
    }
    return Response.json(answer, { status: answer.ok ? 200 : answer.error_code })
  }
}
