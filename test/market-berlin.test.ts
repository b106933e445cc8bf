/**
 * A city added with files alone, end to end: the shipped Berlin market file and the shipped
 * Kleinanzeigen config source (pointed at a fixture site), run by the parser component as the
 * runner starts it, against the fake Bot API on real PostgreSQL. Each listing gets its district
 * group from the Berlin market's mapping and reaches exactly the Berlin searches that want it.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { filters, listings, subscriptions, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FixtureSite } from "@flatwatch/parser/FixtureSite"
import * as ParserComponent from "@flatwatch/parser/ParserComponent"
import { ownFixture, packagePath } from "@flatwatch/parser/SharedFixtures"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { asc } from "drizzle-orm"
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

const TOKEN = "777000:market-berlin-test-token"
const SEARCH = "/s-wohnung-mieten/berlin/seite:1/c203l3331"

const database = ManagedRuntime.make(
  Layer.merge(TestDatabase.layer("market-berlin-test"), Logger.minimumLogLevel(LogLevel.None)),
)
const db = <A, E>(effect: Effect.Effect<A, E, Database>) => database.runPromise(effect)
let fakeApi: FakeBotApi
const site = FixtureSite.start()

beforeAll(async () => {
  fakeApi = await FakeBotApi.start({ tokens: [TOKEN] })
  site.on(SEARCH, { body: await ownFixture("kleinanzeigen/berlin.html") })
  // Pages after the first: the site's "nothing found" page.
  const empty = await ownFixture("kleinanzeigen/berlin_empty.html")
  site.otherwise(() => ({ body: empty }))
})
afterAll(async () => {
  site.stop()
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

/** Users with access, each with one search: [user id, market, district groups]. */
const SEARCHES: ReadonlyArray<readonly [number, string, ReadonlyArray<string>]> = [
  [1, "berlin", ["Friedrichshain-Kreuzberg"]],
  [2, "berlin", ["Pankow", "Mitte"]],
  [3, "berlin", ["Spandau"]],
  [4, "berlin", []],
  [5, "dubai", []],
]

test("listings of the Berlin config source reach the Berlin searches of their district", async () => {
  await db(
    Database.query(async (q) => {
      for (const [id, market, districtGroups] of SEARCHES) {
        await q.insert(users).values({ id, chatId: id, language: "en" })
        await q.insert(subscriptions).values({
          userId: id,
          plan: "month",
          startsAt: new Date(Date.now() - 86_400_000),
          endsAt: new Date(Date.now() + 86_400_000),
        })
        await q
          .insert(filters)
          .values({ userId: id, name: `search ${id}`, market, districtGroups: [...districtGroups] })
      }
    }),
  )
  const env = ConfigProvider.fromMap(
    new Map(
      Object.entries({
        BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: fakeApi.apiRoot,
        BAYUT_ENABLED: "false",
        HTML_SOURCES: packagePath("sources/kleinanzeigen.json"),
        HTML_KLEINANZEIGEN_BASE_URL: site.url,
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
  const titles = (user: number) =>
    fakeApi.limits.deliveredTo(user).map((m) => m.text.split("\n")[0])
  try {
    // The anywhere-in-Berlin search gets all three; the others only their district's.
    await until("the alerts", () => fakeApi.limits.deliveredTo(4).length === 3)
    await until("the district alerts", () => titles(1).length + titles(2).length === 2)
    expect(titles(1)).toEqual(["Altbau mit Balkon in Friedrichshain"])
    expect(titles(2)).toEqual(["Ruhige Wohnung in Pankow"])
    expect(fakeApi.limits.deliveredTo(1)[0]?.text).toContain("1,450")
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  expect(titles(3)).toEqual([])
  expect(titles(5)).toEqual([])
  const stored = await db(
    Database.query((q) =>
      q
        .select({
          id: listings.externalId,
          market: listings.market,
          neighbourhood: listings.neighbourhood,
          districtGroups: listings.districtGroups,
        })
        .from(listings)
        .orderBy(asc(listings.externalId)),
    ),
  )
  expect(stored).toEqual([
    {
      id: "9001",
      market: "berlin",
      neighbourhood: "Friedrichshain",
      districtGroups: ["Friedrichshain-Kreuzberg"],
    },
    { id: "9002", market: "berlin", neighbourhood: "Pankow", districtGroups: ["Pankow"] },
    { id: "9003", market: "berlin", neighbourhood: "Potsdam", districtGroups: [] },
  ])
})
