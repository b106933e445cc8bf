/**
 * The edge of the bot: every update is checked against the parts of Telegram's update the bot
 * reads before any handler (or SQL) sees it. Telegram itself never sends an update that fails
 * this (a user always has a `first_name`, a chat an integer id, ...); a broken proxy, a forged
 * webhook call or a future field change might. Such an update is answered where that is possible
 * (a button stops spinning, a payment is declined with a reason) and dropped, with one warning.
 *
 * Only what the handlers read is checked; other fields pass untouched (Telegram adds fields).
 */
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import type { Context, MiddlewareFn } from "grammy"
import { languageFromTelegram } from "./Format.ts"
import { messages } from "./Messages.ts"

/** A Telegram id: a safe integer (user and chat ids exceed 32 bits, never 53). */
const Id = Schema.Number.pipe(Schema.int())

/** Text that PostgreSQL can store (no U+0000) and Telegram could have sent. */
const StorableText = Schema.String.pipe(
  Schema.filter((s) => !s.includes("\u0000") || "contains U+0000"),
)

const Loose = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const User = Schema.Struct(
  {
    id: Id,
    is_bot: Schema.Boolean,
    // Required, but an empty one is the user's business (the bot shows `first_name ?? ""`).
    first_name: StorableText,
    last_name: Schema.optional(StorableText),
    username: Schema.optional(StorableText),
    language_code: Schema.optional(StorableText),
  },
  Loose,
)

const Chat = Schema.Struct(
  {
    id: Id,
    type: Schema.Literal("private", "group", "supergroup", "channel"),
  },
  Loose,
)

const Entity = Schema.Struct(
  { type: Schema.String, offset: Schema.Number, length: Schema.Number },
  Loose,
)

const Payment = Schema.Struct(
  {
    currency: Schema.String,
    total_amount: Id,
    invoice_payload: Schema.String,
    telegram_payment_charge_id: Schema.NonEmptyString,
  },
  Loose,
)

const Message = Schema.Struct(
  {
    message_id: Id,
    date: Id,
    chat: Chat,
    from: Schema.optional(User),
    text: Schema.optional(StorableText),
    entities: Schema.optional(Schema.Array(Entity)),
    successful_payment: Schema.optional(Payment),
    refunded_payment: Schema.optional(Payment),
  },
  Loose,
)

/** The message a button hangs under: Telegram may send an "inaccessible" one (date 0). */
const ButtonMessage = Schema.Struct({ message_id: Id, chat: Chat }, Loose)

const CallbackQuery = Schema.Struct(
  {
    id: Schema.NonEmptyString,
    from: User,
    message: Schema.optional(ButtonMessage),
    data: Schema.optional(Schema.String),
  },
  Loose,
)

const PreCheckoutQuery = Schema.Struct(
  {
    id: Schema.NonEmptyString,
    from: User,
    currency: Schema.String,
    total_amount: Id,
    invoice_payload: Schema.String,
  },
  Loose,
)

const ChatMember = Schema.Struct({ status: Schema.String, user: User }, Loose)

const ChatMemberUpdated = Schema.Struct(
  {
    chat: Chat,
    from: User,
    date: Id,
    old_chat_member: ChatMember,
    new_chat_member: ChatMember,
  },
  Loose,
)

/** The kinds of update the bot asks Telegram for (`ALLOWED_UPDATES`), each as the bot reads it. */
const kinds = {
  message: Message,
  callback_query: CallbackQuery,
  pre_checkout_query: PreCheckoutQuery,
  my_chat_member: ChatMemberUpdated,
} as const

export type UpdateKind = keyof typeof kinds

function firstError<A, I>(schema: Schema.Schema<A, I>) {
  const decode = Schema.decodeUnknownEither(schema, { errors: "first" })
  return (value: unknown): ParseResult.ParseError | undefined =>
    Option.getOrUndefined(Either.getLeft(decode(value)))
}

/** The first problem of a value of `kind`, or undefined when it fits. */
const problems: Record<UpdateKind, (value: unknown) => ParseResult.ParseError | undefined> = {
  message: firstError(Message),
  callback_query: firstError(CallbackQuery),
  pre_checkout_query: firstError(PreCheckoutQuery),
  my_chat_member: firstError(ChatMemberUpdated),
}

const isKind = (key: string): key is UpdateKind => Object.hasOwn(kinds, key)

/** Why an update does not fit, and what of it can still be used to answer it. */
export interface Unfit {
  readonly updateId: number | undefined
  /** The update's kind as sent (`callback_query`, ...), `none` when it has none. */
  readonly kind: string
  /** The first problem, as a path and a message; never the values (they are user data). */
  readonly reason: string
  /** A callback query id to answer, so that the button stops spinning. */
  readonly callbackQueryId: string | undefined
  /** A pre-checkout query id to decline, so that the payment does not hang. */
  readonly preCheckoutQueryId: string | undefined
  /** The private chat a message came from, to tell the user it could not be read. */
  readonly privateChatId: number | undefined
  /** The sender's language code, when readable (for that answer). */
  readonly languageCode: string | undefined
}

const firstIssue = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "does not match"
  return `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`
}

const fieldOf = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined

const stringAt = (value: unknown, key: string): string | undefined => {
  const field = fieldOf(value, key)
  return typeof field === "string" && field.length > 0 ? field : undefined
}

const privateChatOf = (message: unknown): number | undefined => {
  const chat = fieldOf(message, "chat")
  const id = fieldOf(chat, "id")
  return fieldOf(chat, "type") === "private" && typeof id === "number" && Number.isSafeInteger(id)
    ? id
    : undefined
}

/**
 * Checks a raw update; `Right` with the update as given when it fits, `Left` with what is wrong
 * (and the ids still usable to answer it) when it does not. An update of a kind the bot did not
 * ask for, or with more than one kind, does not fit either.
 */
export const checkUpdate = (update: unknown): Either.Either<unknown, Unfit> => {
  const record =
    typeof update === "object" && update !== null ? (update as Record<string, unknown>) : {}
  const rawId = record.update_id
  const updateId = typeof rawId === "number" && Number.isSafeInteger(rawId) ? rawId : undefined
  const present = Object.keys(record).filter((k) => k !== "update_id")
  const kind = present[0] ?? "none"
  const unfit = (reason: string): Either.Either<unknown, Unfit> => {
    const body = record[kind]
    return Either.left({
      updateId,
      kind,
      reason,
      callbackQueryId: kind === "callback_query" ? stringAt(body, "id") : undefined,
      preCheckoutQueryId: kind === "pre_checkout_query" ? stringAt(body, "id") : undefined,
      privateChatId: kind === "message" ? privateChatOf(body) : undefined,
      languageCode: stringAt(fieldOf(body, "from"), "language_code"),
    })
  }
  if (updateId === undefined) return unfit("update_id: is not an integer")
  if (present.length !== 1) return unfit(`has ${present.length} kinds (${present.join(", ")})`)
  if (!isKind(kind)) return unfit("is a kind the bot does not handle")
  const problem = problems[kind](record[kind])
  return problem === undefined ? Either.right(update) : unfit(`${kind}.${firstIssue(problem)}`)
}

/** Where the edge reports (a log line) and what it answers with (the Bot API of the bot). */
export interface EdgeDeps {
  readonly log: (effect: Effect.Effect<void>) => Promise<void>
}

const describeFailure = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Middleware, first in line: an update that fits goes on; one that does not is logged once at
 * WARN (its id and kind, the first problem; never its values), answered where possible, and
 * dropped. Answering never throws: a failure to answer is a second warning.
 */
export const dropUnfitUpdates =
  <C extends Context>(deps: EdgeDeps): MiddlewareFn<C> =>
  async (ctx, next) => {
    const checked = checkUpdate(ctx.update)
    if (Either.isRight(checked)) return next()
    const unfit = checked.left
    await deps.log(
      Effect.logWarning(
        `update ${unfit.updateId ?? "?"} (${unfit.kind}) does not fit what the bot reads (${unfit.reason}); dropped`,
      ),
    )
    const answer = async (what: string, call: () => Promise<unknown>) => {
      try {
        await call()
      } catch (e) {
        await deps.log(
          Effect.logWarning(
            `could not answer update ${unfit.updateId ?? "?"} (${what}): ${describeFailure(e)}`,
          ),
        )
      }
    }
    const t = messages(languageFromTelegram(unfit.languageCode))
    const { callbackQueryId, preCheckoutQueryId, privateChatId } = unfit
    if (callbackQueryId !== undefined)
      await answer("answerCallbackQuery", () => ctx.api.answerCallbackQuery(callbackQueryId))
    if (preCheckoutQueryId !== undefined)
      await answer("answerPreCheckoutQuery", () =>
        ctx.api.answerPreCheckoutQuery(preCheckoutQueryId, false, { error_message: t.error }),
      )
    if (privateChatId !== undefined)
      await answer("sendMessage", () => ctx.api.sendMessage(privateChatId, t.unreadable))
  }
