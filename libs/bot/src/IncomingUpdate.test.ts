import { expect, test } from "bun:test"
import { Either } from "effect"
import { checkUpdate } from "./IncomingUpdate.ts"

const from = { id: 42, is_bot: false, first_name: "Ann", language_code: "ru" }
const chat = { id: 42, type: "private", first_name: "Ann" }
const message = { message_id: 1, date: 1_700_000_000, chat, from, text: "/start" }

const unfit = (update: unknown) => {
  const checked = checkUpdate(update)
  if (Either.isRight(checked)) throw new Error("expected the update not to fit")
  return checked.left
}

test("updates as Telegram sends them fit, extra fields included", () => {
  for (const update of [
    {
      update_id: 1,
      message: {
        ...message,
        entities: [{ type: "bot_command", offset: 0, length: 6 }],
        via_bot: {},
      },
    },
    { update_id: 2, callback_query: { id: "cq", from, chat_instance: "c", data: "menu", message } },
    {
      update_id: 3,
      callback_query: {
        id: "cq",
        from,
        chat_instance: "c",
        message: { message_id: 5, date: 0, chat },
      },
    },
    {
      update_id: 4,
      pre_checkout_query: {
        id: "pc",
        from,
        currency: "XTR",
        total_amount: 50,
        invoice_payload: "o:1",
      },
    },
    {
      update_id: 5,
      my_chat_member: {
        chat,
        from,
        date: 1,
        old_chat_member: { status: "member", user: from },
        new_chat_member: { status: "kicked", user: from, until_date: 0 },
      },
    },
    {
      update_id: 6,
      message: {
        ...message,
        text: undefined,
        successful_payment: {
          currency: "XTR",
          total_amount: 50,
          invoice_payload: "o:1",
          telegram_payment_charge_id: "ch",
        },
      },
    },
  ]) {
    expect(Either.isRight(checkUpdate(JSON.parse(JSON.stringify(update))))).toBe(true)
  }
})

test("a press whose sender has no first_name: dropped, but its id is kept to answer it", () => {
  const u = unfit({
    update_id: 7,
    callback_query: { id: "bad", from: { id: 9, is_bot: false }, chat_instance: "c", data: "fnew" },
  })
  expect(u).toMatchObject({ updateId: 7, kind: "callback_query", callbackQueryId: "bad" })
  expect(u.reason).toContain("callback_query.from.first_name")
})

test("a message that cannot be stored or read: the private chat is kept to tell the user", () => {
  const nul = unfit({
    update_id: 8,
    message: { ...message, from: { ...from, first_name: "A\u0000" } },
  })
  expect(nul).toMatchObject({ kind: "message", privateChatId: 42, languageCode: "ru" })
  expect(nul.reason).toContain("U+0000")
  expect(
    unfit({ update_id: 9, message: { ...message, chat: { id: "42", type: "private" } } }),
  ).toMatchObject({ privateChatId: undefined })
  expect(
    unfit({ update_id: 10, message: { ...message, from: { ...from, id: 1.5 } } }).reason,
  ).toContain("message.from.id")
  expect(
    unfit({ update_id: 11, pre_checkout_query: { id: "pc", from, currency: "XTR" } }),
  ).toMatchObject({ preCheckoutQueryId: "pc" })
})

test("no kind, two kinds, an unknown kind, no update_id: none fit", () => {
  expect(unfit({ update_id: 12 }).kind).toBe("none")
  expect(unfit({ update_id: 13, message, edited_message: message }).reason).toContain("2 kinds")
  expect(unfit({ update_id: 14, poll: { id: "p" } }).reason).toContain("does not handle")
  expect(unfit({ message }).updateId).toBeUndefined()
  expect(unfit(null).kind).toBe("none")
})
