import { afterAll, beforeAll, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
import { BotHarness, TestUser } from "./BotTestKit.ts"

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
