/**
 * The filter editor with several markets: every market the bot offers comes from its market
 * file (names, district groups, price picks, currency, maximum price), none from the bot's code.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { filters } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
import { BotHarness, type BotHarness as Harness, TestUser } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

let h: Harness

beforeAll(async () => {
  h = await BotHarness.start()
})
afterAll(() => h.stop())

const filtersOf = (userId: number) =>
  h.query(Database.query((db) => db.select().from(filters).where(eq(filters.userId, userId))))

test("with several markets the editor asks for the city first; groups and prices follow it", async () => {
  const bot = await h.startBot({ BOT_MARKETS: "dubai,moscow" })
  try {
    const user = h.user(209, { language_code: "ru" })
    await user.send("/start")
    await user.press("🔎 Мои поиски")
    await user.press("➕ Новый поиск")
    expect(user.last()?.text).toContain("Какой город?")
    expect(TestUser.labels(user.last())).toEqual(["✅ Дубай", "Москва", "✖ Отмена"])
    await user.press("Москва")
    // Moscow's district groups from its market file, by their Russian names.
    expect(user.last()?.text).toContain("Выберите районы")
    const labels = TestUser.labels(user.last())
    expect(labels).toContain("Центр (ЦАО)")
    expect(labels).toContain("Зеленоград")
    expect(labels).not.toContain("Dubai Marina")
    await user.press("Центр (ЦАО)")
    await user.press("Далее ›")
    // Prices in roubles, with Moscow's picks.
    expect(user.last()?.text).toContain("минимальная</b> аренда в месяц, RUB")
    expect(TestUser.labels(user.last())).toContain("50\u00a0000")
    await user.press("50\u00a0000")
    await user.press("Без максимума")
    await user.press("Далее ›")
    await user.press("Далее ›")
    await user.press("Неважно")
    expect(user.last()?.text).toContain("🏙 Город: Москва")
    expect(user.last()?.text).toContain("📍 Районы: Центр (ЦАО)")
    // Prices read as in the alerts: roubles as ₽ in Russian.
    expect(user.last()?.text).toContain("50\u00a0000\u00a0₽")
    await user.press("✅ Сохранить")
    expect((await filtersOf(209))[0]).toMatchObject({
      market: "moscow",
      priceMin: 50_000,
      districtGroups: ["ЦАО"],
    })
  } finally {
    await bot.stop()
  }
})

test("a market added by its file alone (Berlin) is offered with its groups, picks and currency", async () => {
  const bot = await h.startBot({ BOT_MARKETS: "dubai,berlin" })
  try {
    const user = h.user(212, { language_code: "en" })
    await user.send("/start")
    await user.press("🔎 My searches")
    await user.press("➕ New search")
    expect(TestUser.labels(user.last())).toEqual(["✅ Dubai", "Berlin", "✖ Cancel"])
    await user.press("Berlin")
    expect(TestUser.labels(user.last()).slice(0, 4)).toEqual([
      "Mitte",
      "Friedrichshain-Kreuzberg",
      "Pankow",
      "Charlottenburg-Wilmersdorf",
    ])
    await user.press("Friedrichshain-Kreuzberg")
    await user.press("Neukölln")
    await user.press("Next ›")
    expect(user.last()?.text).toContain("EUR")
    const picks = TestUser.labels(user.last())
    expect(picks).toContain("1,000")
    expect(picks).toContain("3,500")
    expect(picks).not.toContain("50,000")
    // A typed price above Berlin's maximum is refused, in euros.
    expect((await user.send("150000")).text).toMatch(/^That is more than EUR\s100,000 a month/)
    await user.press("1,000")
    await user.press("No maximum")
    await user.press("Next ›")
    await user.press("Next ›")
    await user.press("✅ Doesn't matter")
    await user.press("✅ Save")
    expect((await filtersOf(212))[0]).toMatchObject({
      market: "berlin",
      districtGroups: ["Friedrichshain-Kreuzberg", "Neukölln"],
      priceMin: 1_000,
      priceMax: null,
    })
  } finally {
    await bot.stop()
  }
})
