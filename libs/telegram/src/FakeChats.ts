/**
 * What each user of a `FakeBotApi` sees in their chat with the bot: the messages the bot sent,
 * as last edited, with their inline buttons. Tests read answers from here and press buttons by
 * their label, as a user would. Attach it to a started fake (`FakeChats.attach(api)`); it wraps
 * the fake's send/edit/delete handlers and changes nothing else.
 */
import type { CallContext, FakeBotApi, MethodHandler } from "./FakeBotApi.ts"

export interface ChatButton {
  readonly text: string
  readonly callback_data?: string
  readonly url?: string
}

export interface ChatMessage {
  readonly chatId: number
  readonly messageId: number
  /** The method that sent it: `sendMessage`, `sendPhoto`, `sendInvoice`, ... */
  readonly method: string
  /** The parameters it was sent with (the invoice, the photo, ...). */
  readonly params: Readonly<Record<string, unknown>>
  /** Its text or caption, as last edited. */
  text: string
  buttons: ReadonlyArray<ReadonlyArray<ChatButton>>
  edits: number
  deleted: boolean
}

const SEND_METHODS = ["sendMessage", "sendPhoto", "sendInvoice", "sendDocument", "sendMediaGroup"]

const buttonsOf = (markup: unknown): ReadonlyArray<ReadonlyArray<ChatButton>> => {
  const rows = (markup as { inline_keyboard?: unknown } | undefined)?.inline_keyboard
  return Array.isArray(rows) ? (rows as ChatButton[][]) : []
}

export class FakeChats {
  private readonly byChat = new Map<number, ChatMessage[]>()
  private listeners: Array<() => void> = []

  private constructor(private readonly api: FakeBotApi) {}

  /** Starts recording the chats of `api` (call it once, after `FakeBotApi.start`). */
  static attach(api: FakeBotApi): FakeChats {
    const chats = new FakeChats(api)
    for (const method of SEND_METHODS)
      chats.wrap(method, (ctx, result) => chats.onSend(ctx, result))
    chats.wrap("editMessageText", (ctx) =>
      chats.onEdit(ctx, (m) => {
        m.text = String(ctx.params.text ?? "")
        // Telegram drops the keyboard of a message edited without one.
        m.buttons = buttonsOf(ctx.params.reply_markup)
      }),
    )
    chats.wrap("editMessageCaption", (ctx) =>
      chats.onEdit(ctx, (m) => {
        m.text = String(ctx.params.caption ?? "")
        m.buttons = buttonsOf(ctx.params.reply_markup)
      }),
    )
    chats.wrap("editMessageReplyMarkup", (ctx) =>
      chats.onEdit(ctx, (m) => {
        m.buttons = buttonsOf(ctx.params.reply_markup)
      }),
    )
    chats.wrap("deleteMessage", (ctx) =>
      chats.onEdit(ctx, (m) => {
        m.deleted = true
      }),
    )
    return chats
  }

  /** Every message the bot sent to the chat, oldest first (deleted ones included, flagged). */
  messages(chatId: number): ReadonlyArray<ChatMessage> {
    return this.byChat.get(chatId) ?? []
  }

  /** The newest message still in the chat. */
  last(chatId: number): ChatMessage | undefined {
    return this.messages(chatId).findLast((m) => !m.deleted)
  }

  /** The newest message in the chat that has a button labelled `label` (exactly or, failing that, containing it). */
  findButton(
    chatId: number,
    label: string,
  ): { message: ChatMessage; button: ChatButton } | undefined {
    const live = this.messages(chatId).filter((m) => !m.deleted)
    for (const match of [(t: string) => t === label, (t: string) => t.includes(label)]) {
      for (let i = live.length - 1; i >= 0; i--) {
        const message = live[i]
        const button = message?.buttons.flat().find((b) => match(b.text))
        if (message !== undefined && button !== undefined) return { message, button }
      }
    }
    return undefined
  }

  /**
   * Resolves with the first non-undefined value of `check`, evaluated now and after every change
   * to any chat (a message sent, edited or deleted).
   */
  async waitUntil<A>(check: () => A | undefined, timeoutMs = 10_000): Promise<A> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check()
      if (value !== undefined) return value
      const remaining = deadline - Date.now()
      if (remaining <= 0)
        throw new Error(`the chats did not reach the expected state within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.listeners.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private wrap(method: string, after: (ctx: CallContext, result: unknown) => void) {
    const original: MethodHandler | undefined = this.api.handlers.get(method)
    if (original === undefined) return
    this.api.handlers.set(method, async (ctx) => {
      const answer = await original(ctx)
      if (answer.ok) {
        after(ctx, answer.result)
        const listeners = this.listeners
        this.listeners = []
        for (const l of listeners) l()
      }
      return answer
    })
  }

  private onSend(ctx: CallContext, result: unknown) {
    const sent = (Array.isArray(result) ? result : [result]) as Array<{ message_id?: number }>
    for (const r of sent) {
      const chatId = Number(ctx.params.chat_id)
      const list = this.byChat.get(chatId) ?? []
      list.push({
        chatId,
        messageId: Number(r.message_id),
        method: ctx.method,
        params: ctx.params,
        text: String(ctx.params.text ?? ctx.params.caption ?? ctx.params.title ?? ""),
        buttons: buttonsOf(ctx.params.reply_markup),
        edits: 0,
        deleted: false,
      })
      this.byChat.set(chatId, list)
    }
  }

  private onEdit(ctx: CallContext, change: (m: ChatMessage) => void) {
    const chatId = Number(ctx.params.chat_id)
    const message = this.messages(chatId).find((m) => m.messageId === Number(ctx.params.message_id))
    if (message === undefined) return
    change(message)
    message.edits++
  }
}
