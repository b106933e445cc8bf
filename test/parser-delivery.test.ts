/**
 * The parser component as the runner starts it (`ParserComponent.layer`: the scrape side and its
 * outbox sender), against a fake Bayut and the fake Bot API over real HTTP, on real PostgreSQL:
 * a listing that appears at the source reaches the subscriber's chat with everything the alert
 * promises; a price drop follows; a block reaches the admin's chat once.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { deliveries, filters, subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FakeBayut } from "@flatwatch/parser/FakeBayut"
import * as ParserComponent from "@flatwatch/parser/ParserComponent"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { eq } from "drizzle-orm"
import {
  ConfigProvider,
  Effect,
  Exit,
  Layer,
  Logger,
  LogLevel,
  ManagedRuntime,
  Scope,
} from "effect"

setDefaultTimeout(60_000)

const TOKEN = "777000:parser-delivery-test-token"
const USER = 1
const ADMIN = 999

const database = ManagedRuntime.make(
  Layer.merge(TestDatabase.layer("parser-delivery-test"), Logger.minimumLogLevel(LogLevel.None)),
)
const db = <A, E>(effect: Effect.Effect<A, E, Database>) => database.runPromise(effect)
let fakeApi: FakeBotApi
const bayut = FakeBayut.start()

beforeAll(async () => {
  fakeApi = await FakeBotApi.start({ tokens: [TOKEN] })
  fakeApi.limits.rateLimit({ global: 30, perChat: 1 })
})
afterAll(async () => {
  bayut.stop()
  await fakeApi.stop()
  await database.dispose()
})

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

test("a listing at the source reaches the subscriber; a price drop follows; a block reaches the admin once", async () => {
  const filterId = await db(
    Database.query(async (q) => {
      await q.insert(users).values([
        { id: USER, chatId: USER, language: "ru" },
        { id: ADMIN, chatId: ADMIN, language: "en" },
      ])
      await q.insert(subscriptions).values({
        userId: USER,
        plan: "month",
        startsAt: new Date(Date.now() - 86_400_000),
        endsAt: new Date(Date.now() + 86_400_000),
      })
      const [filter] = await q
        .insert(filters)
        .values({ userId: USER, name: "Marina", market: "dubai", rooms: [2] })
        .returning({ id: filters.id })
      return filter?.id ?? 0
    }),
  )
  const postedAt = Math.floor(Date.now() / 1000) - 5 * 60
  bayut.listings = [
    {
      id: "77",
      createdAt: postedAt,
      price: 96_000,
      rentFrequency: "yearly",
      rooms: 2,
      title: "Marina <View> & more",
      neighbourhood: "Dubai Marina",
      furnished: true,
      photoIds: [770],
    },
    // Not for this user: one room.
    { id: "78", createdAt: postedAt, price: 5_000, rooms: 1 },
  ]

  const env = ConfigProvider.fromMap(
    new Map(
      Object.entries({
        BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: fakeApi.apiRoot,
        ADMIN_IDS: String(ADMIN),
        BAYUT_BASE_URL: bayut.url,
        BAYUT_SITE_URL: bayut.url,
        BAYUT_ALGOLIA_APP_ID: "TESTAPP",
        BAYUT_ALGOLIA_API_KEY: "test-key",
        BAYUT_CRON: "* * * * * *",
        BAYUT_DETAIL_PAGES: "false",
        // A block must reach the admin here: no HTML-search fallback to carry on with.
        BAYUT_HTML_FALLBACK: "false",
        PARSER_JITTER: "0 seconds",
        PARSER_POLITENESS_DELAY: "0 seconds",
        PARSER_FETCH_RETRIES: "0",
        SEND_POLL_INTERVAL: "200 millis",
      }),
    ),
  )
  const context = await database.runtime()
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(
    Layer.buildWithScope(
      ParserComponent.layer.pipe(
        Layer.provide(Layer.succeedContext(context.context)),
        Layer.provide(Layer.setConfigProvider(env)),
        Layer.provide(Logger.minimumLogLevel(LogLevel.None)),
      ),
      scope,
    ),
  )
  try {
    await until("the alert", () => fakeApi.limits.deliveredTo(USER).length === 1)
    const [alert] = fakeApi.limits.deliveredTo(USER)
    expect(alert?.method).toBe("sendPhoto")
    expect(alert?.photo).toBe("https://images.bayut.com/thumbnails/770-800x600.jpeg")
    const lines = alert?.text.split("\n") ?? []
    expect(lines[0]).toBe("Marina <View> & more")
    for (const line of [
      "💰 8\u00a0000\u00a0AED в месяц",
      "96\u00a0000\u00a0AED в год",
      "🛏 2 спальни · 🛁 1 санузел · 📐 71\u00a0м²",
      "📍 Dubai Marina",
      "🛋 С мебелью",
      "🪪 Разрешение P-77",
      "👤 Agent 77 · Fake Realty",
      "📞 +971500000000",
    ]) {
      expect(lines).toContain(line)
    }
    expect(lines.some((l) => /^🕒 Опубликовано [5-9]\u00a0мин назад$/.test(l))).toBe(true)
    expect(alert?.buttons).toEqual([
      [
        { text: "🔗 Открыть объявление", url: `${bayut.url}/property/details-77.html` },
        { text: "💬 WhatsApp", url: "https://wa.me/971500000000" },
      ],
      [{ text: "🔕 Не присылать по этому фильтру", callback_data: `mute:${filterId}` }],
    ])

    // The price drops at the source: the next run records it and tells the user.
    bayut.listings = bayut.listings.map((l) => (l.id === "77" ? { ...l, price: 90_000 } : l))
    await until("the price drop", () => fakeApi.limits.deliveredTo(USER).length === 2)
    const drop = fakeApi.limits.deliveredTo(USER)[1]?.text ?? ""
    expect(drop).toContain("Цена снижена")
    expect(drop).toContain("Было 8\u00a0000\u00a0AED, стало 7\u00a0500\u00a0AED в месяц (−6%)")

    // The source starts refusing: the admin hears about it once, in their language.
    bayut.override(...Array.from({ length: 5 }, () => ({ status: 403, body: "Forbidden" })))
    await until("the admin notice", () => fakeApi.limits.deliveredTo(ADMIN).length === 1)
    expect(fakeApi.limits.deliveredTo(ADMIN)[0]?.text).toContain("Source bayut is blocked (run #")
    // Later ticks fall within the back-off: no second notice, no request to the source.
    const requests = bayut.apiRequests
    await Bun.sleep(1_500)
    expect(bayut.apiRequests).toBe(requests)
    expect(fakeApi.limits.deliveredTo(ADMIN)).toHaveLength(1)
    expect(fakeApi.limits.deliveredTo(USER)).toHaveLength(2)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  const rows = await db(
    Database.query((q) =>
      q.select({ status: deliveries.status, kind: deliveries.kind }).from(deliveries),
    ),
  )
  expect(rows.map((r) => `${r.kind}:${r.status}`).sort()).toEqual([
    "admin_notice:sent",
    "listing:sent",
    "price_drop:sent",
  ])
  const [admin] = await db(Database.query((q) => q.select().from(users).where(eq(users.id, ADMIN))))
  expect(admin?.blockedAt).toBeNull()
})
