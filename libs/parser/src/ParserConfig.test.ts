import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Markets } from "@flatwatch/market/Markets"
import { ConfigProvider, Duration, Effect, Option } from "effect"
import { loadParserConfig } from "./ParserConfig.ts"
import { packagePath } from "./SharedFixtures.ts"

const load = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.either(loadParserConfig).pipe(
      Effect.provide(Markets.layer()),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    ),
  )
const ok = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Left") throw new Error(String(result.left))
  return result.right
}
const problem = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Right") throw new Error("expected a configuration error")
  return String(result.left)
}

const bayutKeys = { BAYUT_ALGOLIA_APP_ID: "APP", BAYUT_ALGOLIA_API_KEY: "secret" }

describe("parser configuration", () => {
  test("defaults: Bayut every 2 minutes, nothing else", async () => {
    const config = await ok(bayutKeys)
    expect(config.sources.map((s) => [s.source.id, s.source.market, s.cron])).toEqual([
      ["bayut", "dubai", "*/2 * * * *"],
    ])
    expect(config.sources[0]?.policy).toMatchObject({ degradedAfter: 30 })
    expect(Duration.toMillis(config.jitter)).toBe(10_000)
    expect(config.adminIds).toEqual([])
  })

  test("Bayut needs its Algolia credentials unless disabled", async () => {
    expect(await problem({})).toContain("BAYUT_ALGOLIA_APP_ID")
    expect(await problem({ BAYUT_ALGOLIA_APP_ID: "APP" })).toContain("BAYUT_ALGOLIA_API_KEY")
    expect((await ok({ BAYUT_ENABLED: "false" })).sources).toEqual([])
  })

  test("the API key never shows in the config's text", async () => {
    const config = await ok(bayutKeys)
    expect(JSON.stringify(config)).not.toContain("secret")
  })

  test("Avito, when enabled, needs search URLs and a market", async () => {
    const base = { BAYUT_ENABLED: "false", AVITO_ENABLED: "true" }
    expect(await problem(base)).toContain("AVITO_URLS")
    expect(
      await problem({ ...base, AVITO_URLS: "https://www.avito.ru/moskva/kvartiry" }),
    ).toContain("AVITO_MARKET")
    expect(await problem({ ...base, AVITO_URLS: "not a url", AVITO_MARKET: "moscow" })).toContain(
      "AVITO_URLS",
    )
    expect(
      await problem({ ...base, AVITO_URLS: "javascript:alert(1)", AVITO_MARKET: "moscow" }),
    ).toContain('Invalid data at AVITO_URLS: "is not an http(s) URL: javascript:alert(1)"')
    const config = await ok({
      ...base,
      AVITO_URLS: "https://www.avito.ru/moskva/kvartiry",
      AVITO_MARKET: "moscow",
    })
    expect(config.sources.map((s) => [s.source.id, s.source.market, s.cron])).toEqual([
      ["avito", "moscow", "*/5 * * * *"],
    ])
  })

  test("HTML_SOURCES loads each config file; a bad one names the file and field", async () => {
    const config = await ok({
      BAYUT_ENABLED: "false",
      HTML_SOURCES: `${packagePath("sources/domria.json")}, ${packagePath("sources/kleinanzeigen.json")}`,
      HTML_DOMRIA_BASE_URL: "http://127.0.0.1:9",
    })
    expect(config.sources.map((s) => [s.source.id, s.cron])).toEqual([
      ["domria", "*/10 * * * *"],
      ["kleinanzeigen", "*/5 * * * *"],
    ])
    const broken = await problem({
      BAYUT_ENABLED: "false",
      HTML_SOURCES: packagePath("fixtures/html/page.html"),
    })
    expect(broken).toContain(
      `HTML_SOURCES: ${packagePath("fixtures/html/page.html")}: is not valid JSON`,
    )
    const missing = await problem({
      BAYUT_ENABLED: "false",
      HTML_SOURCES: "/nonexistent/site.json",
    })
    expect(missing).toContain("HTML_SOURCES: /nonexistent/site.json: cannot be read")
    const twice = await problem({
      BAYUT_ENABLED: "false",
      HTML_SOURCES: `${packagePath("sources/domria.json")},${packagePath("sources/domria.json")}`,
    })
    expect(twice).toContain('two sources have the id "domria"')
  })

  test("every source's market must have a market file; a config source uses its currency", async () => {
    const known = "(known: berlin, dubai, kyiv, moscow)"
    expect(await problem({ ...bayutKeys, BAYUT_MARKET: "atlantis" })).toContain(
      `Invalid data at BAYUT_MARKET: "no market file has the id "atlantis" ${known}"`,
    )
    // The id Avito's listings carried before markets were files.
    expect(
      await problem({
        BAYUT_ENABLED: "false",
        AVITO_ENABLED: "true",
        AVITO_URLS: "https://www.avito.ru/moskva/kvartiry",
        AVITO_MARKET: "moskva",
      }),
    ).toContain(`Invalid data at AVITO_MARKET: "no market file has the id "moskva" ${known}"`)
    const dir = mkdtempSync(join(tmpdir(), "flatwatch-sources-"))
    try {
      const source = JSON.parse(await Bun.file(packagePath("sources/kleinanzeigen.json")).text())
      const write = async (name: string, content: unknown) => {
        await Bun.write(join(dir, name), JSON.stringify(content))
        return join(dir, name)
      }
      const elsewhere = await write("hamburg.json", { ...source, market: "hamburg" })
      expect(await problem({ BAYUT_ENABLED: "false", HTML_SOURCES: elsewhere })).toContain(
        `HTML_SOURCES: ${elsewhere}: market: no market file has the id "hamburg" ${known}`,
      )
      const dollars = await write("usd.json", { ...source, currency: "USD" })
      expect(await problem({ BAYUT_ENABLED: "false", HTML_SOURCES: dollars })).toContain(
        `HTML_SOURCES: ${dollars}: currency: USD is not the currency of market "berlin" (EUR)`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("runs without listings before degraded: shared default, per-source overrides", async () => {
    const avito = {
      BAYUT_ENABLED: "false",
      AVITO_ENABLED: "true",
      AVITO_URLS: "https://www.avito.ru/moskva/kvartiry",
      AVITO_MARKET: "moscow",
    }
    const degradedAfter = async (env: Record<string, string>) =>
      (await ok({ ...bayutKeys, ...avito, BAYUT_ENABLED: "true", ...env })).sources.map((s) => [
        s.source.id,
        s.policy.degradedAfter,
      ])
    expect(await degradedAfter({})).toEqual([
      ["bayut", 30],
      ["avito", 5],
    ])
    // Avito follows the shared value unless it has its own; Bayut keeps its higher default.
    expect(await degradedAfter({ PARSER_DEGRADED_AFTER: "7" })).toEqual([
      ["bayut", 30],
      ["avito", 7],
    ])
    const own = { PARSER_DEGRADED_AFTER: "7", AVITO_DEGRADED_AFTER: "2", BAYUT_DEGRADED_AFTER: "4" }
    expect(await degradedAfter(own)).toEqual([
      ["bayut", 4],
      ["avito", 2],
    ])
    expect(await problem({ ...avito, AVITO_DEGRADED_AFTER: "0" })).toContain("AVITO_DEGRADED_AFTER")
  })

  test("Bayut's price watch: hourly by default, its own cron and size, or off", async () => {
    const watchOf = async (env: Record<string, string>) => {
      const watch = (await ok({ ...bayutKeys, ...env })).sources[0]?.priceWatch
      return watch === undefined
        ? undefined
        : {
            cron: watch.cron,
            windowDays: Duration.toHours(watch.settings.window) / 24,
            goneAfterDays: Duration.toHours(watch.settings.goneAfter) / 24,
            maxListings: watch.settings.maxListings,
          }
    }
    expect(await watchOf({})).toEqual({
      cron: "25 * * * *",
      windowDays: 30,
      goneAfterDays: 3,
      maxListings: 1000,
    })
    expect(
      await watchOf({
        BAYUT_PRICE_WATCH_CRON: "*/30 * * * *",
        BAYUT_PRICE_WATCH_BATCH: "20",
        BAYUT_PRICE_WATCH_MAX_BATCHES: "3",
        PARSER_PRICE_WATCH_WINDOW: "7 days",
        PARSER_PRICE_WATCH_GONE_AFTER: "1 day",
      }),
    ).toEqual({ cron: "*/30 * * * *", windowDays: 7, goneAfterDays: 1, maxListings: 60 })
    expect(await watchOf({ BAYUT_PRICE_WATCH_ENABLED: "false" })).toBeUndefined()
    expect(await problem({ ...bayutKeys, BAYUT_PRICE_WATCH_CRON: "hourly" })).toContain(
      "BAYUT_PRICE_WATCH_CRON",
    )
    expect(await problem({ ...bayutKeys, BAYUT_PRICE_WATCH_BATCH: "5000" })).toContain(
      "BAYUT_PRICE_WATCH_BATCH",
    )
    expect(await problem({ ...bayutKeys, BAYUT_PRICE_WATCH_MAX_BATCHES: "0" })).toContain(
      "BAYUT_PRICE_WATCH_MAX_BATCHES",
    )
    expect(await problem({ ...bayutKeys, PARSER_PRICE_WATCH_WINDOW: "a month" })).toContain(
      "PARSER_PRICE_WATCH_WINDOW",
    )
    // Avito cannot be asked for listings by id: it has no watch.
    const avito = await ok({
      BAYUT_ENABLED: "false",
      AVITO_ENABLED: "true",
      AVITO_URLS: "https://www.avito.ru/moskva/kvartiry",
      AVITO_MARKET: "moscow",
    })
    expect(avito.sources[0]?.priceWatch).toBeUndefined()
    expect(avito.sources[0]?.source.recheck).toBeUndefined()
  })

  test("fetch modes: <SOURCE>_FETCH or a config file's fetch; browser and auto need Chromium, named in the error", async () => {
    expect((await ok(bayutKeys)).browser).toEqual(Option.none())
    expect(await problem({ ...bayutKeys, BAYUT_FETCH: "sometimes" })).toContain("BAYUT_FETCH")
    const missing = await problem({
      ...bayutKeys,
      BAYUT_FETCH: "browser",
      CHROMIUM_PATH: "/nonexistent/chromium",
    })
    expect(missing).toContain("BAYUT_FETCH")
    expect(missing).toContain('"browser" needs Chromium: CHROMIUM_PATH=/nonexistent/chromium')
    expect(missing).toContain("apt-get install chromium")
    // Any executable stands in for Chromium here: only start-up's check is under test.
    const config = await ok({
      ...bayutKeys,
      BAYUT_FETCH: "auto",
      CHROMIUM_PATH: process.execPath,
      BROWSER_IDLE_CLOSE: "30 seconds",
    })
    expect(config.sources[0]?.fetchMode).toBe("auto")
    const browser = Option.getOrThrow(config.browser)
    expect(browser.executablePath).toBe(process.execPath)
    expect(Duration.toMillis(browser.idleClose)).toBe(30_000)
    expect(browser.concurrency).toBe(1)

    const dir = mkdtempSync(join(tmpdir(), "fw-fetch-"))
    try {
      const file = join(dir, "site.json")
      const json = JSON.parse(readFileSync(packagePath("sources/domria.json"), "utf8"))
      writeFileSync(file, JSON.stringify({ ...json, fetch: "browser" }))
      const html = { BAYUT_ENABLED: "false", HTML_SOURCES: file }
      const fromFile = await problem({ ...html, CHROMIUM_PATH: "/nonexistent/chromium" })
      expect(fromFile).toContain(`${file}: fetch "browser" needs Chromium`)
      writeFileSync(file, JSON.stringify({ ...json, fetch: "headless" }))
      expect(await problem(html)).toContain(`${file}: fetch: must be "http", "browser" or "auto"`)
      writeFileSync(file, JSON.stringify({ ...json, fetch: "browser" }))
      // The variable wins over the file.
      const viaEnv = await ok({ ...html, HTML_DOMRIA_FETCH: "http" })
      expect(viaEnv.sources[0]?.fetchMode).toBe("http")
      expect(viaEnv.browser).toEqual(Option.none())
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("bad values name their variable", async () => {
    expect(await problem({ ...bayutKeys, BAYUT_CRON: "soon" })).toContain("BAYUT_CRON")
    expect(await problem({ ...bayutKeys, BAYUT_BASE_URL: "ftp://x" })).toContain("BAYUT_BASE_URL")
    expect(await problem({ ...bayutKeys, BAYUT_MAX_PAGES: "0" })).toContain("BAYUT_MAX_PAGES")
    expect(await problem({ ...bayutKeys, PARSER_FETCH_TIMEOUT: "forever" })).toContain(
      "PARSER_FETCH_TIMEOUT",
    )
    expect(await problem({ ...bayutKeys, BAYUT_PROXY: "::" })).toContain("BAYUT_PROXY")
    expect(await problem({ ...bayutKeys, ADMIN_IDS: "alice" })).toContain(
      "Invalid data at ADMIN_IDS",
    )
    expect((await ok({ ...bayutKeys, ADMIN_IDS: "11, 22" })).adminIds).toEqual([11, 22])
  })
})
