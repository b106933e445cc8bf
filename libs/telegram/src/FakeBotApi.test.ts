import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Api, Bot, GrammyError } from "grammy"
import { FakeBotApi } from "./FakeBotApi.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
let fake: FakeBotApi

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
})
afterAll(() => fake.stop())

test("getMe answers for a known token through grammY, and the call is recorded", async () => {
  const api = new Api(TOKEN, { apiRoot: fake.apiRoot })
  const me = await api.getMe()
  expect(me.id).toBe(123456)
  expect(me.is_bot).toBe(true)
  expect(fake.callsTo("getMe")).toHaveLength(1)
})

test("an unknown token gets 401 Unauthorized, like Telegram", async () => {
  const api = new Api("999:wrong", { apiRoot: fake.apiRoot })
  const error = await api.getMe().catch((e: unknown) => e)
  expect(error).toBeInstanceOf(GrammyError)
  expect((error as GrammyError).error_code).toBe(401)
})

test("getUpdates long-polls: an injected message arrives while the request waits", async () => {
  const api = new Api(TOKEN, { apiRoot: fake.apiRoot })
  const pending = api.getUpdates({ timeout: 5, offset: 0 })
  await Bun.sleep(100)
  fake.injectMessage(TOKEN, { id: 42, language_code: "en" }, "/start")
  const updates = await pending
  expect(updates).toHaveLength(1)
  expect(updates[0]?.message?.text).toBe("/start")
  expect(updates[0]?.message?.entities?.[0]?.type).toBe("bot_command")
  // Asking from the next offset confirms it: it is not delivered again.
  const next = await api.getUpdates({ offset: (updates[0]?.update_id ?? 0) + 1, timeout: 0 })
  expect(next).toHaveLength(0)
})

test("a grammY bot with long polling answers an injected /start", async () => {
  const bot = new Bot(TOKEN, { client: { apiRoot: fake.apiRoot } })
  bot.command("start", (ctx) => ctx.reply(`hello ${ctx.from?.id}`))
  const running = bot.start({ timeout: 1 })
  fake.injectMessage(TOKEN, { id: 77 }, "/start")
  const reply = await fake.waitForCall((c) => c.method === "sendMessage" && c.params.chat_id === 77)
  expect(reply.params.text).toBe("hello 77")
  await bot.stop()
  await running
})

test("a revoked token is rejected from then on", async () => {
  const other = "555:other_token"
  fake.acceptToken(other)
  const api = new Api(other, { apiRoot: fake.apiRoot })
  expect((await api.getMe()).id).toBe(555)
  fake.rejectToken(other)
  expect(await api.getMe().catch((e: GrammyError) => e.error_code)).toBe(401)
})
