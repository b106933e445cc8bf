/**
 * `fetch: browser | auto` in a real headless Chromium against the local fixture site (real
 * HTTP): script-built lists, a cookie challenge solved once and reused from the database, the
 * switch of an `auto` source, a page that never renders, and Chromium's lifetime.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { browserSessions, deliveries, listings, sourceState } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Markets } from "@flatwatch/market/Markets"
import { and, eq, like } from "drizzle-orm"
import {
  Duration,
  Effect,
  Either,
  Layer,
  ManagedRuntime,
  Option,
  Redacted,
  TestClock,
  TestContext,
} from "effect"
import { bayutSource } from "./BayutSource.ts"
import { Browser } from "./Browser.ts"
import { BrowserSessionStore } from "./BrowserSession.ts"
import { describeBrowser, killChromiumsOf } from "./BrowserTestKit.ts"
import { isAlive, killChromium } from "./ChromiumProcess.ts"
import { FakeBayut } from "./FakeBayut.ts"
import { defaultFetchOptions, Fetcher } from "./Fetcher.ts"
import type { FetchMode } from "./FetchMode.ts"
import { FixtureSite } from "./FixtureSite.ts"
import { htmlSource } from "./HtmlSource.ts"
import { parseHtmlSourceConfig } from "./HtmlSourceConfig.ts"
import { defaultHealthPolicy } from "./SourceHealth.ts"
import { type RunReport, runSource } from "./SourceRun.ts"

setDefaultTimeout(60_000)

const ADMIN = 4242
const card = (id: number) =>
  `<li class="card" data-id="f${id}"><a href="/flat/${id}">Flat ${id}</a><span class="price">${1000 + id}</span></li>`
const CARDS = [1, 2, 3].map(card).join("")
const LIST_PAGE = `<!doctype html><html><body><h1>Flats</h1><ul id="results">${CARDS}</ul></body></html>`
/** The list is empty in the HTML; a script fills it a little later. */
const SCRIPTED_PAGE = `<!doctype html><html><body><ul id="results"></ul><script>
setTimeout(() => { document.getElementById("results").innerHTML = ${JSON.stringify(CARDS)} }, 150)
</script></body></html>`
/** A script challenge: sets the pass cookie and reloads; the server refuses anyone without it. */
const CHALLENGE_PAGE = `<!doctype html><html><head><title>Just a moment...</title></head><body>
<div class="challenge">Checking your browser</div><script>
setTimeout(() => { document.cookie = "fw_pass=ok; path=/; max-age=86400"; location.reload() }, 150)
</script></body></html>`
const NEVER_PAGE = `<!doctype html><html><body><div class="spinner">Loading…</div></body></html>`

const hasPass = (headers: Headers) => (headers.get("cookie") ?? "").includes("fw_pass=ok")

/** Counts the challenge pages served per path. */
const challenges = new Map<string, number>()
let wallUp = true
let neverRenders = false

let site: FixtureSite
beforeAll(() => {
  site = FixtureSite.start()
  const walled = (path: string) => (request: { headers: Headers }) => {
    if (wallUp && !hasPass(request.headers)) {
      challenges.set(path, (challenges.get(path) ?? 0) + 1)
      return { status: 403, body: CHALLENGE_PAGE }
    }
    return { body: LIST_PAGE }
  }
  site
    .on("/scripted", { body: SCRIPTED_PAGE })
    .on("/challenge", walled("/challenge"))
    .on("/walled", walled("/walled"))
    .on("/sometimes", () => ({ body: neverRenders ? NEVER_PAGE : LIST_PAGE }))
    .on("/plain", { body: LIST_PAGE })
})
afterAll(() => site.stop())

const source = (id: string, path: string, fetch: FetchMode, timeout = Duration.seconds(15)) => {
  const config = Either.getOrThrow(
    parseHtmlSourceConfig(
      {
        id,
        market: "berlin",
        currency: "EUR",
        urls: [`${site.url}${path}`],
        pagination: { maxPages: 1 },
        list: "#results",
        card: "li.card",
        fields: {
          id: { attr: "data-id" },
          url: { selector: "a", attr: "href", type: "url" },
          title: { selector: "a" },
          price: { selector: ".price", type: "number" },
        },
        blocked: [{ selector: ".challenge" }],
        fetch,
      },
      `${id}.json`,
    ),
  )
  return htmlSource(config, {
    fetch: {
      ...defaultFetchOptions(id),
      mode: config.fetch,
      timeout,
      retries: 0,
      politeness: Duration.zero,
    },
  })
}

const ran = (report: RunReport) => {
  if (report._tag !== "Ran") throw new Error(`the run was skipped: ${report.reason}`)
  return report
}

describeBrowser("fetch: browser and auto, in a real Chromium", (chromium) => {
  const OWNER = `browser-test-${process.pid}`
  const browserLayer = Browser.layer({
    executablePath: chromium,
    idleClose: Duration.minutes(1),
    concurrency: 1,
    owner: OWNER,
  }).pipe(Layer.provide(BrowserSessionStore.layerDatabase))
  const runtime = ManagedRuntime.make(
    Fetcher.Default.pipe(
      Layer.provideMerge(browserLayer),
      Layer.provideMerge(TestDatabase.layer("browser-test")),
      Layer.provideMerge(Markets.layer()),
    ),
  )
  type R = ManagedRuntime.ManagedRuntime.Context<typeof runtime>
  const run = <A, E>(effect: Effect.Effect<A, E, R>) => runtime.runPromise(effect)
  const settings = { policy: { ...defaultHealthPolicy, degradedAfter: 1 }, adminIds: [ADMIN] }
  const crawl = (s: ReturnType<typeof source>) => run(runSource(s, settings)).then(ran)
  const stateOf = (id: string) =>
    run(
      Database.query((db) => db.select().from(sourceState).where(eq(sourceState.source, id))),
    ).then(([row]) => row)
  const storedCount = (id: string) =>
    run(Database.query((db) => db.select().from(listings).where(eq(listings.source, id)))).then(
      (rows) => rows.length,
    )
  const noticesAbout = (id: string) =>
    run(
      Database.query((db) =>
        db
          .select({ payload: deliveries.payload })
          .from(deliveries)
          .where(
            and(eq(deliveries.kind, "admin_notice"), like(deliveries.dedupeKey, `%:fetch:${id}:%`)),
          ),
      ),
    ).then((rows) => rows.map((r) => (r.payload as { text: string }).text))

  beforeAll(() => run(Effect.void))
  afterAll(async () => {
    await runtime.dispose()
    // Whatever happened above, no Chromium of this file outlives it.
    killChromiumsOf(OWNER)
  })

  test("a list built by a script: plain HTTP finds no card, the browser finds them all", async () => {
    const plain = await crawl(source("scripted-http", "/scripted", "http"))
    expect(plain.found).toBe(0)
    const browser = await crawl(source("scripted-browser", "/scripted", "browser"))
    expect(browser.outcome).toBe("ok")
    expect(browser.found).toBe(3)
    expect(browser.created).toBe(3)
    expect(await storedCount("scripted-browser")).toBe(3)
  })

  test("a cookie challenge: plain HTTP is blocked; the browser passes it once and reuses the stored cookie after a restart", async () => {
    const plain = await crawl(source("challenge-http", "/challenge", "http"))
    expect(plain.outcome).toBe("blocked")
    expect((await stateOf("challenge-http"))?.status).toBe("blocked")
    const before = challenges.get("/challenge") ?? 0

    const first = await crawl(source("challenge", "/challenge", "browser"))
    expect(first.outcome).toBe("ok")
    expect(first.found).toBe(3)
    expect(challenges.get("/challenge")).toBe(before + 1)
    const [session] = await run(
      Database.query((db) =>
        db.select().from(browserSessions).where(eq(browserSessions.source, "challenge")),
      ),
    )
    expect(JSON.stringify(session?.cookies)).toContain('"name":"fw_pass"')

    // A new Chromium (as after a restart or an idle close): the session comes from the database.
    await run(Effect.flatMap(Browser, (b) => b.close))
    const second = await crawl(source("challenge", "/challenge", "browser"))
    expect(second.outcome).toBe("ok")
    expect(second.found).toBe(3)
    expect(challenges.get("/challenge")).toBe(before + 1)
  })

  test("fetch: auto goes to the browser on a wall, stays there, and comes back within the hour after the wall falls; admins are told once per switch", async () => {
    const auto = source("walled", "/walled", "auto")
    const plainRequests = () => site.requestsTo("/walled").filter((r) => !hasPass(r.headers)).length
    const reports = await run(
      Effect.gen(function* () {
        const first = ran(yield* runSource(auto, settings))
        const afterFirst = plainRequests()
        const second = ran(yield* runSource(auto, settings))
        const afterSecond = plainRequests()
        wallUp = false
        yield* TestClock.adjust(Duration.minutes(61))
        const third = ran(yield* runSource(auto, settings))
        return { first, second, third, afterFirst, afterSecond }
      }).pipe(Effect.provide(TestContext.TestContext)),
    )
    expect(reports.first.found).toBe(3)
    expect(reports.second.found).toBe(3)
    // Within the hour, no plain request was tried again.
    expect(reports.afterSecond).toBe(reports.afterFirst)
    expect(reports.third.found).toBe(3)
    expect(plainRequests()).toBe(reports.afterSecond + 1)
    const notices = await noticesAbout("walled")
    expect(notices).toHaveLength(2)
    expect(notices).toContainEqual(expect.stringContaining("blocks plain requests"))
    expect(notices).toContainEqual(expect.stringContaining("answers plain requests again"))
    const [row] = await run(
      Database.query((db) =>
        db.select().from(browserSessions).where(eq(browserSessions.source, "walled")),
      ),
    )
    expect(row?.fetchVia).toBe("http")
  })

  test("Bayut in the browser: the Algolia POST runs inside a page of the site, the detail pages load as pages", async () => {
    const fake = FakeBayut.start()
    try {
      const created = Math.floor(Date.now() / 1000) - 600
      fake.listings = [
        { id: "71", createdAt: created, price: 9000, phone: null, detailPhone: "+971500000071" },
        { id: "72", createdAt: created + 1, price: 9500 },
      ]
      const bayut = bayutSource({
        id: "bayut-browser",
        market: "dubai",
        apiUrl: fake.url,
        appId: "TESTAPP",
        apiKey: Redacted.make("test-key"),
        index: "bayut-production-ads-en",
        siteUrl: fake.url,
        hitsPerPage: 25,
        maxPages: 2,
        overlap: Duration.minutes(10),
        initialLookback: Duration.days(1),
        detailPages: true,
        detailConcurrency: 1,
        fetch: {
          ...defaultFetchOptions("bayut-browser"),
          mode: "browser",
          siteUrl: fake.url,
          retries: 0,
          politeness: Duration.zero,
        },
      })
      const report = await crawl(bayut)
      expect(report.outcome).toBe("ok")
      expect(report.found).toBe(2)
      const api = fake.site.requestsTo("/1/indexes/*/queries")
      expect(api.length).toBeGreaterThan(0)
      // Sent by a page's fetch(), not by Bun: a browser's fetch metadata is on it.
      expect(api[0]?.headers.get("sec-fetch-mode")).toBe("cors")
      expect(api[0]?.headers.get("user-agent")).not.toContain("Headless")
      const [stored] = await run(
        Database.query((db) =>
          db
            .select({ phone: listings.agentPhone })
            .from(listings)
            .where(and(eq(listings.source, "bayut-browser"), eq(listings.externalId, "71"))),
        ),
      )
      expect(stored?.phone).toBe("+971500000071")
    } finally {
      fake.stop()
    }
  })

  test("a page that never renders its list: a clear timeout, the source degraded, nothing stored", async () => {
    const s = source("sometimes", "/sometimes", "browser", Duration.seconds(2))
    expect((await crawl(s)).found).toBe(3)
    neverRenders = true
    site.on("/sometimes", { body: NEVER_PAGE.replace("Loading", "Still loading") })
    const report = await crawl(s)
    expect(report.outcome).toBe("failed")
    expect(report.error).toContain("did not show :is(#results) :is(li.card) within 2s")
    expect(report.created).toBe(0)
    expect(report.status).toBe("degraded")
    expect((await stateOf("sometimes"))?.status).toBe("degraded")
    expect(await storedCount("sometimes")).toBe(3)
  })

  test("no orphan Chromium: killing the process that drives it (SIGKILL) ends it too", async () => {
    const owner = `${OWNER}-child`
    const child = Bun.spawn(
      ["bun", `${import.meta.dir}/Browser.fixture.ts`, owner, `${site.url}/plain`],
      { stdout: "pipe", stderr: "inherit", env: { ...process.env, CHROMIUM_PATH: chromium } },
    )
    let chromiumPid: number | undefined
    try {
      const reader = (child.stdout as ReadableStream<Uint8Array>).getReader()
      const { value } = await reader.read()
      chromiumPid = (JSON.parse(new TextDecoder().decode(value)) as { pid: number }).pid
      expect(isAlive(chromiumPid)).toBe(true)
      child.kill("SIGKILL")
      await child.exited
      for (let i = 0; i < 100 && isAlive(chromiumPid); i++) await Bun.sleep(100)
      expect(isAlive(chromiumPid)).toBe(false)
    } finally {
      child.kill("SIGKILL")
      if (chromiumPid !== undefined) killChromium(chromiumPid)
    }
  })

  test("a Chromium left by a crashed worker is killed by the next Browser of its owner; Chromium closes after BROWSER_IDLE_CLOSE and starts again on the next page", async () => {
    // This file's shared Chromium plays the one a crashed worker of the same owner left behind.
    const orphan = await run(
      Effect.gen(function* () {
        yield* Fetcher.pipe(
          Effect.flatMap((f) =>
            f.fetch(
              { url: `${site.url}/plain` },
              { ...defaultFetchOptions("plain"), mode: "browser" },
            ),
          ),
        )
        return Option.getOrThrow(yield* Effect.flatMap(Browser, (b) => b.pid))
      }),
    )
    expect(isAlive(orphan)).toBe(true)
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const browser = yield* Browser.make({
            executablePath: chromium,
            idleClose: Duration.millis(300),
            concurrency: 1,
            owner: OWNER,
          })
          const load = browser.load({
            source: "idle",
            url: `${site.url}/plain`,
            method: "GET",
            headers: {},
            waitFor: ["li.card"],
            timeout: Duration.seconds(15),
            acceptLanguage: "en",
            proxy: Option.none(),
          })
          yield* load
          const orphanAlive = isAlive(orphan)
          const first = Option.getOrThrow(yield* browser.pid)
          yield* Effect.sleep(Duration.millis(200)).pipe(
            Effect.repeat({ until: () => !isAlive(first), times: 100 }),
          )
          const idle = yield* browser.pid
          yield* load
          const again = yield* browser.pid
          return { orphanAlive, first, idle, again, firstAlive: isAlive(first) }
        }),
      ).pipe(Effect.provide(BrowserSessionStore.layerMemory)),
    )
    expect(seen.orphanAlive).toBe(false)
    expect(seen.firstAlive).toBe(false)
    expect(Option.isNone(seen.idle)).toBe(true)
    expect(Option.isSome(seen.again)).toBe(true)
    // Its scope closed: the second Chromium is gone too.
    expect(isAlive(Option.getOrThrow(seen.again))).toBe(false)
  })
})
