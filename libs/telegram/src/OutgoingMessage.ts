import type { OutboxButton } from "./Outbox.ts"

export type InlineKeyboard = ReadonlyArray<ReadonlyArray<OutboxButton>>

/**
 * One message as the sender hands it to the Bot API: a photo with a caption, or a text.
 * `html` says whether `text`/`caption` is Telegram HTML (`parse_mode: "HTML"`) or plain text.
 */
export type OutgoingMessage =
  | {
      readonly type: "photo"
      readonly photo: string
      readonly caption: string
      readonly html: boolean
      readonly buttons: InlineKeyboard
    }
  | {
      readonly type: "text"
      readonly text: string
      readonly html: boolean
      readonly buttons: InlineKeyboard
    }
