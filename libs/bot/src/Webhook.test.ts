import { afterAll, beforeAll, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import { Option } from "effect"
import { BotHarness, type RunningBot } from "./BotTestKit.ts"

const SECRET = "s3cret_Webhook-token"
let h: BotHarness
let bot: RunningBot
let endpoint: string

beforeAll(async () => {
  h = await BotHarness.start()
  bot = await h.startBot({
    BOT_MODE: "webhook",
    WEBHOOK_URL: "https://flatwatch.example/telegram/hook",
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_HOST: "127.0.0.1",
    WEBHOOK_PORT: "0",
  })
  endpoint = `http://127.0.0.1:${Option.getOrThrow(bot.info.webhookPort)}/telegram/hook`
})
afterAll(() => h.stop())

const update = (userId: number, text: string, updateId: number) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: userId, type: "private", first_name: "W" },
    from: { id: userId, is_bot: false, first_name: "W", language_code: "en" },
    text,
    entities: [{ type: "bot_command", offset: 0, length: text.length }],
  },
})

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  })

test("at start the webhook is set with the secret, and no long polling happens", () => {
  const set = h.fake.callsTo("setWebhook")
  expect(set).toHaveLength(1)
  expect(set[0]?.params).toMatchObject({
    url: "https://flatwatch.example/telegram/hook",
    secret_token: SECRET,
  })
  expect(h.fake.callsTo("getUpdates")).toHaveLength(0)
})

test("a request without the secret header, or with a wrong one, gets 401 and reaches no handler", async () => {
  const without = await post(update(501, "/start", 1))
  expect(without.status).toBe(401)
  const wrong = await post(update(501, "/start", 2), {
    "X-Telegram-Bot-Api-Secret-Token": "s3cret_Webhook-tokeN",
  })
  expect(wrong.status).toBe(401)
  const get = await fetch(endpoint)
  expect(get.status).toBe(401)
  expect(h.fake.sentTo(501)).toHaveLength(0)
  expect(await h.query(Database.query((db) => db.$count(users)))).toBe(0)
})

test("an update with the right secret is handled", async () => {
  const response = await post(update(502, "/start", 3), {
    "X-Telegram-Bot-Api-Secret-Token": SECRET,
  })
  expect(response.status).toBe(200)
  // The bot answered before the webhook request returned.
  expect(h.chats.last(502)?.text).toContain("Hi, W!")
  expect(await h.query(Database.query((db) => db.$count(users)))).toBe(1)
  const garbage = await post({ hello: "world" }, { "X-Telegram-Bot-Api-Secret-Token": SECRET })
  expect(garbage.status).toBe(400)
})

test("stopping the bot closes the webhook server", async () => {
  await bot.stop()
  const refused = await post(update(503, "/start", 4), {
    "X-Telegram-Bot-Api-Secret-Token": SECRET,
  }).then(
    (r) => r.status,
    () => "refused",
  )
  expect(refused).toBe("refused")
})
