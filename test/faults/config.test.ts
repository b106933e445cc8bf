/**
 * Fault: configuration an operator gets wrong, against the runner as a process. Every bad value
 * stops start-up with exit 2 and ONE line naming the variable and what is wrong (never a stack,
 * never a secret); a database that is not up yet is waited for, each try logged, for
 * DATABASE_CONNECT_TIMEOUT before the runner gives up with exit 1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { freePort, logLines, startRunner, stopAll } from "../support/runner.ts"

setDefaultTimeout(60_000)

const TOKEN = "424243:config-fault-token"
let fake: FakeBotApi

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
})
afterEach(stopAll)
afterAll(async () => {
  await stopAll()
  await fake.stop()
})

const env = (extra: Record<string, string>) => ({
  BOT_TOKEN: TOKEN,
  TELEGRAM_API_ROOT: fake.apiRoot,
  // Never reached: configuration is checked before the database.
  DATABASE_URL: `postgres://postgres:s3cret-pw@127.0.0.1:${freePort()}/flatwatch`,
  BAYUT_ENABLED: "false",
  LOG_FORMAT: "pretty",
  ...extra,
})

/** Starts the runner, expects `code`, and returns the lines it printed. */
const run = async (extra: Record<string, string>, code: number) => {
  const runner = startRunner({ env: env(extra) })
  const exited = await runner.exited
  const lines = runner.output().trim().split("\n")
  expect({ exited, lines }).toMatchObject({ exited: code })
  expect(runner.output()).not.toContain("s3cret-pw")
  expect(runner.output()).not.toContain("    at ")
  return lines
}

describe("bad values stop start-up with one line naming the variable", () => {
  test.each([
    ["SHUTDOWN_TIMEOUT", "0 seconds", "SHUTDOWN_TIMEOUT: must be a duration longer than zero"],
    ["SHUTDOWN_TIMEOUT", "-5 seconds", "SHUTDOWN_TIMEOUT: must be a duration longer than zero"],
    [
      "UNREADY_RESTART_AFTER",
      "0 seconds",
      "UNREADY_RESTART_AFTER: must be a duration longer than zero",
    ],
    ["PARSER_JITTER", "-1 seconds", "PARSER_JITTER: must be a duration of zero or more"],
    [
      "PARSER_FETCH_TIMEOUT",
      "0 millis",
      "PARSER_FETCH_TIMEOUT: must be a duration longer than zero",
    ],
    [
      "DATABASE_CONNECT_TIMEOUT",
      "0 seconds",
      "DATABASE_CONNECT_TIMEOUT: must be a duration longer than zero",
    ],
    [
      "DATABASE_URL",
      "postgres://u:s3cret-pw@db.example:99999/x",
      "DATABASE_URL: has port 99999, outside 1-65535",
    ],
    [
      "DATABASE_URL",
      "postgres://u:s3cret-pw@db.example:54x/x",
      "DATABASE_URL: has a port that is not a number",
    ],
    ["DATABASE_URL", "mysql://u:s3cret-pw@db.example/x", "DATABASE_URL: has the scheme mysql://"],
  ])("%s=%s", async (name, value, message) => {
    const lines = await run({ [name]: value }, 2)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(message)
  })

  test("a zero jitter is fine (no negative check on what may be zero)", async () => {
    // It gets past configuration and fails later, on the unreachable database.
    const lines = await run({ PARSER_JITTER: "0 seconds", DATABASE_CONNECT_TIMEOUT: "1 second" }, 1)
    expect(lines.join("\n")).not.toContain("PARSER_JITTER")
  })
})

describe("a database that is not up yet", () => {
  test("start-up retries it for DATABASE_CONNECT_TIMEOUT, logging each try, then exits 1", async () => {
    const port = freePort()
    const t0 = performance.now()
    const runner = startRunner({
      env: env({
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/flatwatch`,
        DATABASE_CONNECT_TIMEOUT: "3 seconds",
        LOG_FORMAT: "json",
      }),
    })
    expect(await runner.exited).toBe(1)
    const ms = performance.now() - t0
    const tries = logLines(runner.output()).filter((l) => l.message.includes("not reachable yet"))
    expect(tries.length).toBeGreaterThanOrEqual(3)
    expect(tries[0]?.message).toContain(`127.0.0.1:${port}/flatwatch`)
    expect(ms).toBeGreaterThanOrEqual(3_000)
    expect(runner.output()).toContain(`127.0.0.1:${port}/flatwatch`)
    console.info(
      `[fault config db not up] ${tries.length} tries logged, exit 1 after ${Math.round(ms)} ms`,
    )
  })
})
