import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
import { BotHarness, TEST_TOKEN, TestUser } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

let h: BotHarness

beforeAll(async () => {
  h = await BotHarness.start()
  await h.startBot()
})
afterAll(() => h.stop())

const userRow = (id: number) =>
  h.query(Database.query((db) => db.select().from(users).where(eq(users.id, id)))).then((r) => r[0])

test("/start in Russian greets in Russian, shows the main menu and creates the user", async () => {
  const ivan = h.user(101, { language_code: "ru", first_name: "Иван", username: "ivan" })
  const reply = await ivan.send("/start")
  expect(reply.text).toContain("Здравствуйте, Иван!")
  expect(reply.text).toContain("присылаю каждую новую квартиру")
  expect(TestUser.labels(reply)).toEqual(["🔎 Мои поиски", "⭐ Подписка", "🌐 Язык", "❓ Помощь"])
  expect(await userRow(101)).toMatchObject({
    id: 101,
    chatId: 101,
    language: "ru",
    username: "ivan",
  })
})

test("/start in English (or any other language) greets in English", async () => {
  const anna = h.user(102, { language_code: "de", first_name: "Anna" })
  const reply = await anna.send("/start")
  expect(reply.text).toContain("Hi, Anna!")
  expect(TestUser.labels(reply)).toEqual([
    "🔎 My searches",
    "⭐ Subscription",
    "🌐 Language",
    "❓ Help",
  ])
  expect((await userRow(102))?.language).toBe("en")
})

test("the command menu is set in both languages at start", () => {
  const calls = h.fake.callsTo("setMyCommands")
  const en = calls.find((c) => c.params.language_code === undefined)
  const ru = calls.find((c) => c.params.language_code === "ru")
  const names = (c: typeof en) =>
    (c?.params.commands as Array<{ command: string }> | undefined)?.map((x) => x.command)
  const all = [
    "start",
    "filters",
    "subscription",
    "pause",
    "resume",
    "language",
    "help",
    "terms",
    "paysupport",
    "deleteme",
  ]
  expect(names(en)).toEqual(all)
  expect(names(ru)).toEqual(all)
  expect(JSON.stringify(ru?.params.commands)).toContain("Мои поиски")
  expect(JSON.stringify(en?.params.commands)).toContain("My searches")
})

test("/start again updates the row but keeps the language the user chose", async () => {
  const user = h.user(103, { language_code: "en", username: "old" })
  await user.send("/start")
  await user.send("/language")
  await user.press("Русский")
  expect(user.last()?.text).toContain("Язык: русский.")
  expect(TestUser.labels(user.last())).toContain("🔎 Мои поиски")
  const renamed = h.user(103, { language_code: "en", username: "new" })
  expect((await renamed.send("/start")).text).toContain("Здравствуйте")
  expect(await userRow(103)).toMatchObject({ username: "new", language: "ru" })
  await renamed.press("🌐 Язык")
  await renamed.press("English")
  expect((await userRow(103))?.language).toBe("en")
  expect((await renamed.send("/help")).text).toContain("/filters: your searches")
})

test("messages the bot does not understand get a hint and the menu; unknown buttons are answered", async () => {
  const user = h.user(104, { language_code: "ru" })
  for (const text of ["привет", "/nonsense", "/stats"]) {
    const reply = await user.send(text)
    expect(reply.text).toBe(
      "Я не понял сообщение. Воспользуйтесь кнопками ниже или отправьте /help.",
    )
    expect(TestUser.labels(reply)).toContain("🔎 Мои поиски")
  }
  expect(await user.pressData("no-such-action", 1)).toMatchObject({ text: "Эта кнопка устарела." })
})

test("group chats get no answers", async () => {
  const user = h.user(109, { language_code: "en" })
  h.fake.injectUpdate(TEST_TOKEN, {
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: -500, type: "group", title: "Flat hunters" },
      from: { id: 109, is_bot: false, first_name: "U" },
      text: "/start",
      entities: [{ type: "bot_command", offset: 0, length: 6 }],
    },
  })
  // A button pressed in the group is answered (it does not spin), and nothing more.
  h.fake.injectUpdate(TEST_TOKEN, {
    callback_query: {
      id: "cq-group",
      from: { id: 109, is_bot: false, first_name: "U" },
      chat_instance: "ci-group",
      data: "menu:main",
      message: {
        message_id: 7,
        date: Math.floor(Date.now() / 1000),
        chat: { id: -500, type: "group", title: "Flat hunters" },
        text: "…",
      },
    },
  })
  await h.fake.waitForCall(
    (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === "cq-group",
  )
  // The same sender's next update is handled after the group ones (one user's updates in order).
  await user.send("/help")
  expect(h.fake.sentTo(-500)).toHaveLength(0)
  expect(h.fake.callsTo("editMessageText").filter((c) => c.params.chat_id === -500)).toEqual([])
  expect(await userRow(109)).toBeUndefined()
})

test("/terms and /paysupport exist; a support message with no admin to reach says so", async () => {
  const user = h.user(105, { language_code: "en", username: "payer" })
  expect((await user.send("/terms")).text).toContain("Terms of service")
  expect((await user.send("/paysupport")).text).toContain("Help with a payment")
  // No admins configured in this file: the user is told it did not go through.
  expect((await user.send("/paysupport I paid twice")).text).toBe(
    "Sorry, something went wrong on our side. Please try again in a moment.",
  )
})

test("/pause and /resume switch all alerts off and on", async () => {
  const user = h.user(106, { language_code: "en" })
  expect((await user.send("/pause")).text).toBe("Send /start first, then try again.")
  await user.send("/start")
  expect((await user.send("/pause")).text).toContain("All alerts are paused")
  expect((await userRow(106))?.pausedAt).toBeInstanceOf(Date)
  // While paused, the searches screen and a saved search say so.
  expect((await user.send("/filters")).text).toContain(
    "⏸ All alerts are paused. Send /resume to get them again.",
  )
  expect((await user.saveSearch()).text).toContain("⏸ All alerts are paused.")
  expect((await user.send("/resume")).text).toContain("Alerts are on again")
  expect((await userRow(106))?.pausedAt).toBeNull()
  expect((await user.send("/filters")).text).not.toContain("paused")
})

test("blocking the bot marks the user blocked; unblocking clears it", async () => {
  const user = h.user(107, { language_code: "en" })
  await user.send("/start")
  const member = (status: string) => ({
    my_chat_member: {
      chat: { id: 107, type: "private", first_name: "U" },
      from: { id: 107, is_bot: false, first_name: "U" },
      date: Math.floor(Date.now() / 1000),
      old_chat_member: {
        user: { id: 7000001, is_bot: true, first_name: "Flatwatch" },
        status: status === "kicked" ? "member" : "kicked",
      },
      new_chat_member: {
        user: { id: 7000001, is_bot: true, first_name: "Flatwatch" },
        status,
        ...(status === "kicked" ? { until_date: 0 } : {}),
      },
    },
  })
  // The bot answers nothing to these; the user's next update is handled after each of them.
  h.fake.injectUpdate(TEST_TOKEN, member("kicked"))
  await user.send("/help")
  expect((await userRow(107))?.blockedAt).toBeInstanceOf(Date)
  h.fake.injectUpdate(TEST_TOKEN, member("member"))
  await user.send("/help")
  expect((await userRow(107))?.blockedAt).toBeNull()
})

test("a failing handler gets a polite reply and a log line, and the bot keeps running", async () => {
  const user = h.user(108, { language_code: "en" })
  await user.send("/start")
  // A 400 (a 5xx or 429 would be sent again by the reply retry, see ReplyRetry.test.ts).
  h.failOnce("sendMessage", 108, 400, "Bad Request: scripted")
  const apology = await user.send("/help")
  expect(apology.text).toBe(
    "Sorry, something went wrong on our side. Please try again in a moment.",
  )
  const line = h.logs.find((l) => l.level === "ERROR" && l.message.includes("scripted"))
  expect(line?.message).toContain("handling message failed: Bot API sendMessage: 400")
  expect(line?.annotations.component).toBe("bot")
  expect((await user.send("/help")).text).toContain("Flatwatch</b> sends you new rental listings")
})

test("no log line contains the bot token", () => {
  expect(h.logs.length).toBeGreaterThan(0)
  for (const line of h.logs) expect(line.message).not.toContain("TEST-bot_token")
})

test("a token Telegram rejects fails the start with a clear error", async () => {
  const error = await h.startFailure({ BOT_TOKEN: "1234:revoked-token" })
  expect(String(error)).toContain("BOT_TOKEN was rejected by the Bot API (401 Unauthorized)")
})

test("a bad config value fails the start naming the variable", async () => {
  expect(String(await h.startFailure({ MAX_FILTERS_PER_USER: "many" }))).toContain(
    "MAX_FILTERS_PER_USER",
  )
  expect(String(await h.startFailure({ BOT_MODE: "webhook" }))).toContain("WEBHOOK_URL")
  expect(String(await h.startFailure({ BOT_MARKETS: "dubai,atlantis" }))).toContain(
    '"atlantis" is not a known market',
  )
})
