/**
 * The runner as ops run it: `bun run apps/runner` in a subprocess, against a fresh database on the
 * test PostgreSQL and the fake Bot API over real HTTP.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { makeTempDir } from "@flatwatch/db/EmbeddedPostgres"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { Effect, Exit, Redacted, Scope } from "effect"
import postgres from "postgres"
import { freePort, logLines, startRunner, stopAll, waitUntil } from "./support/runner.ts"

setDefaultTimeout(60_000)

const TOKEN = "424242:runner-test-token"
let fake: FakeBotApi
let scope: Scope.CloseableScope
let databaseUrl: string
let sql: postgres.Sql

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  scope = Effect.runSync(Scope.make())
  const db = await Effect.runPromise(Scope.extend(TestDatabase.make, scope))
  databaseUrl = Redacted.value(db.url)
  sql = postgres(databaseUrl, { max: 1 })
})
afterEach(stopAll)
afterAll(async () => {
  await stopAll()
  await sql.end()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await fake.stop()
})

const baseEnv = () => ({
  BOT_TOKEN: TOKEN,
  TELEGRAM_API_ROOT: fake.apiRoot,
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: "info",
  // No listing site is reachable here; the parser runs with no source enabled.
  BAYUT_ENABLED: "false",
})

const connections = async () =>
  (
    await sql<{ name: string }[]>`select application_name as name from pg_stat_activity
      where datname = current_database() and application_name like 'flatwatch-%'
      order by 1`
  ).map((r) => r.name)

const metric = (text: string, name: string, component: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{component="${component}"}`))
  return line === undefined ? undefined : Number(line.split(" ").pop())
}

describe("runner", () => {
  test("all three components become ready, each with its own pool; SIGTERM exits 0 and leaves no connection", async () => {
    const runner = startRunner({ env: baseEnv() })
    const ready = (await runner.waitReady()) as {
      components: Array<{ name: string; ready: boolean }>
    }
    expect(ready.components.map((c) => [c.name, c.ready])).toEqual([
      ["bot", true],
      ["parser", true],
      ["subscriptions", true],
    ])
    // Each worker has its own pool (a sender also holds a LISTEN connection).
    expect([...new Set(await connections())]).toEqual([
      "flatwatch-bot",
      "flatwatch-parser",
      "flatwatch-subscriptions",
    ])
    expect(fake.callsTo("getMe", TOKEN).length).toBeGreaterThanOrEqual(1)

    const health = await runner.get("/healthz")
    expect(health.status).toBe(200)
    const metrics = await (await runner.get("/metrics")).text()
    expect(metric(metrics, "flatwatch_component_up", "parser")).toBe(1)
    expect(metric(metrics, "flatwatch_component_restarts_total", "bot")).toBe(0)
    expect(metrics).toContain("# TYPE flatwatch_component_up gauge")

    const { code, ms } = await runner.terminate("SIGTERM")
    expect(code).toBe(0)
    expect(ms).toBeLessThan(20_000)
    expect(await connections()).toEqual([])
    const messages = logLines(runner.output()).map((l) => l.message)
    expect(messages).toContain("component bot stopped")
    expect(messages).toContain("component parser stopped")
    expect(messages).toContain("component subscriptions stopped")
  })

  test("a component that fails at start is restarted with backoff while the others keep heartbeating", async () => {
    const badToken = "777:revoked-token"
    const runner = startRunner({ env: { ...baseEnv(), BOT_TOKEN: badToken } })
    // The fake answers getMe with 401 for this token: the bot worker fails, is restarted 1 s, then 2 s later.
    const metrics = await waitUntil(
      async () => {
        const text = await (await runner.get("/metrics").catch(() => undefined))?.text()
        return text !== undefined &&
          (metric(text, "flatwatch_component_restarts_total", "bot") ?? 0) >= 2
          ? text
          : undefined
      },
      // Generous: each start of a worker takes seconds on a loaded 2-core machine.
      45_000,
      "two restarts of the bot",
    )
    expect(metric(metrics, "flatwatch_component_up", "parser")).toBe(1)
    expect(metric(metrics, "flatwatch_component_up", "subscriptions")).toBe(1)
    expect(metric(metrics, "flatwatch_component_up", "bot")).toBe(0)
    expect(metric(metrics, "flatwatch_component_heartbeat_age_seconds", "parser")).toBeLessThan(5)
    expect(metric(metrics, "flatwatch_component_restarts_total", "parser")).toBe(0)
    const readyz = await runner.get("/readyz")
    expect(readyz.status).toBe(503)

    const log = logLines(runner.output()).map((l) => l.message)
    const restarts = log.filter((m) => m.startsWith("component bot stopped unexpectedly"))
    expect(restarts[0]).toContain("BOT_TOKEN was rejected by the Bot API (401 Unauthorized)")
    expect(restarts[0]).toContain("restarting in 1s")
    expect(restarts[1]).toContain("restarting in 2s")

    // The token becomes valid again: the next restart brings the bot up.
    fake.acceptToken(badToken)
    await runner.waitReady(15_000)
    expect((await runner.terminate()).code).toBe(0)
  })

  test("--only parser starts only the parser", async () => {
    const runner = startRunner({ env: baseEnv(), args: ["--only", "parser"] })
    const ready = (await runner.waitReady()) as { components: Array<{ name: string }> }
    expect(ready.components.map((c) => c.name)).toEqual(["parser"])
    expect([...new Set(await connections())]).toEqual(["flatwatch-parser"])
    expect((await runner.terminate()).code).toBe(0)
  })

  test("a worker that misses the shutdown deadline is terminated and the exit code says so", async () => {
    const runner = startRunner({ env: { ...baseEnv(), SHUTDOWN_TIMEOUT: "1 millis" } })
    await runner.waitReady()
    const { code } = await runner.terminate()
    expect(code).toBe(3)
    expect(runner.output()).toContain("shutdown deadline missed")
  })
})

describe("bad start-up", () => {
  const expectOneLine = async (
    env: Record<string, string | undefined>,
    args: string[],
    code: number,
    message: string,
  ) => {
    const runner = startRunner({ env, args })
    expect(await runner.exited).toBe(code)
    expect(runner.output()).toContain(message)
    expect(runner.output()).not.toContain("    at ") // no stack trace for expected failures
  }

  test("missing BOT_TOKEN: exit 2, one line naming it, nothing started", async () => {
    await expectOneLine(
      { ...baseEnv(), BOT_TOKEN: undefined },
      [],
      2,
      "flatwatch: configuration error: BOT_TOKEN is not set",
    )
    expect(await connections()).toEqual([])
  })

  test("a bad value names the variable", async () => {
    await expectOneLine(
      { ...baseEnv(), HTTP_PORT: "99999" },
      [],
      2,
      "HTTP_PORT: must be a port number",
    )
    await expectOneLine(
      { ...baseEnv(), BOT_TOKEN: "nonsense" },
      [],
      2,
      "BOT_TOKEN: is not a bot token",
    )
    await expectOneLine(
      { ...baseEnv(), TIME_ZONE: "Dubai" },
      [],
      2,
      "flatwatch: configuration error: TIME_ZONE: must be an IANA time zone such as UTC or Asia/Dubai",
    )
    await expectOneLine(
      { ...baseEnv(), DATABASE_URL: "mysql://x" },
      [],
      2,
      "DATABASE_URL: has the scheme mysql:// where postgres:// or postgresql:// belongs",
    )
    await expectOneLine(
      {
        ...baseEnv(),
        BOT_MODE: "webhook",
        WEBHOOK_URL: "https://bot.example/hook",
        WEBHOOK_SECRET: "s3cret",
        WEBHOOK_PORT: "8080",
        HTTP_PORT: "8080",
      },
      [],
      2,
      "WEBHOOK_PORT: must differ from HTTP_PORT (8080)",
    )
    await expectOneLine(
      { ...baseEnv(), HTML_SOURCES: "/nonexistent/site.json" },
      [],
      2,
      "flatwatch: configuration error: HTML_SOURCES: /nonexistent/site.json: cannot be read",
    )
  })

  test('fetch: "browser" on a machine without Chromium: exit 2, one line naming the variable and how to install it', async () => {
    // PATH holds only bun: no Chromium on it, and CHROMIUM_PATH is unset.
    const bin = makeTempDir("fw-nochromium-")
    symlinkSync(process.execPath, join(bin, "bun"))
    try {
      await expectOneLine(
        {
          ...baseEnv(),
          PATH: bin,
          CHROMIUM_PATH: undefined,
          HTML_SOURCES: "libs/parser/sources/domria.json",
          HTML_DOMRIA_FETCH: "browser",
        },
        ["--only", "parser"],
        2,
        'flatwatch: configuration error: HTML_DOMRIA_FETCH: "browser" needs Chromium: Chromium was not found on PATH (chromium, chromium-browser, google-chrome-stable, google-chrome) and CHROMIUM_PATH is not set; install Chromium from the system\'s packages (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to its executable',
      )
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  test("a bad market file names the file, the field and why, whichever component runs", async () => {
    const dir = makeTempDir("flatwatch-markets-")
    try {
      const file = join(dir, "vienna.json")
      await Bun.write(
        file,
        JSON.stringify({
          id: "vienna",
          names: { ru: "Вена", en: "Vienna" },
          currency: "euro",
          timeZone: "Europe/Vienna",
          pricePicks: [600, 900],
          maxPrice: 50_000,
          districtGroups: [],
        }),
      )
      for (const only of [[], ["--only", "subscriptions"]]) {
        await expectOneLine(
          { ...baseEnv(), MARKETS_DIR: dir },
          only,
          2,
          `flatwatch: configuration error: ${file}: currency: must be an ISO currency code like EUR`,
        )
      }
      await expectOneLine(
        { ...baseEnv(), BOT_MARKETS: "dubai,vienna", MARKETS_DIR: join(dir, "none") },
        ["--only", "bot"],
        2,
        `flatwatch: configuration error: MARKETS_DIR: the folder ${join(dir, "none")} cannot be read`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("an unknown --only name prints the usage and exits 2", async () => {
    await expectOneLine(baseEnv(), ["--only", "parser,mailer"], 2, "unknown component: mailer")
  })

  test("HTTP_PORT taken: exit 1 with a clear line", async () => {
    const port = freePort()
    const blocker = Bun.serve({ hostname: "0.0.0.0", port, fetch: () => new Response("busy") })
    try {
      await expectOneLine(
        { ...baseEnv(), HTTP_PORT: String(port) },
        [],
        1,
        `HTTP_PORT ${port} is already in use`,
      )
    } finally {
      blocker.stop(true)
    }
  })

  test("database unreachable: exit 1 with a clear line", async () => {
    await expectOneLine(
      {
        ...baseEnv(),
        DATABASE_URL: "postgres://postgres@127.0.0.1:1/flatwatch",
        DATABASE_CONNECT_TIMEOUT: "1 second",
      },
      [],
      1,
      "127.0.0.1:1/flatwatch",
    )
  })
})

describe("embedded PostgreSQL default", () => {
  test("without DATABASE_URL the runner starts its own PostgreSQL and stops it after the workers", async () => {
    const dir = makeTempDir("flatwatch-runner-embedded-")
    try {
      const dataDir = join(dir, "postgres")
      const runner = startRunner({
        env: { ...baseEnv(), DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: dataDir },
      })
      await runner.waitReady(60_000)
      const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
      expect(pid).toBeGreaterThan(0)
      expect((await runner.terminate()).code).toBe(0)
      expect(existsSync(join(dataDir, "postmaster.pid"))).toBe(false) // clean shutdown
      const alive = (() => {
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      })()
      expect(alive).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
