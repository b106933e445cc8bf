/**
 * Fault: the bot under updates that do not fit, a shutdown in the middle of a burst, and a 429
 * storm on its replies (issue: "one bad update must never wedge the bot").
 *
 * 1. 200 button presses whose sender has no `first_name` (Telegram always sends one; a proxy or
 *    a future code path might not), mixed with 200 valid `/start` from other users, then five
 *    more users write. Expected: every valid user is answered, the five after the burst too;
 *    each malformed update is logged once at WARN with its id and kind and never reaches SQL;
 *    no connection of the bot is left `idle in transaction`; `/readyz` stays truthful.
 * 2. SIGTERM right after such a burst: the runner exits 0 within SHUTDOWN_TIMEOUT.
 * 3. A 429 storm on the bot's replies with 30 users writing: every reply waits for the
 *    `retry_after` of the last 429 (one gate for the whole bot), so at most one 429 per window,
 *    and every user is answered after it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import type { CallContext, FakeUser } from "@flatwatch/telegram/FakeBotApi"
import { SYSTEM_TOKEN, System } from "../support/system.ts"

setDefaultTimeout(120_000)

let system: System

beforeAll(async () => {
  system = await System.start({ env: { BAYUT_ENABLED: "false" } })
})
afterAll(async () => {
  await system?.stop()
})
// A test that failed with its runner still up must not leave it to the next one.
afterEach(async () => {
  if (system?.runner !== undefined) await system.stopRunner("SIGKILL")
})

/** Connections of the runner's bot component and what they are doing. */
const botConnections = async () =>
  system.sql<{ state: string | null; wait: string | null }[]>`
    select state, wait_event as wait from pg_stat_activity
    where datname = current_database() and application_name like 'flatwatch-bot%'`

const startText = (id: number) => system.chats.messages(id).find((m) => m.method === "sendMessage")

describe("the bot under malformed updates", () => {
  test("200 presses without first_name among 200 /start: every valid user answered, the pool healthy, probes answered", async () => {
    await system.startRunner()
    const valid = Array.from(
      { length: 200 },
      (_, i): FakeUser => ({ id: 70_001 + i, first_name: `Valid ${i}`, language_code: "en" }),
    )
    const malformedIds: number[] = []
    for (let i = 0; i < 200; i++) {
      system.fake.injectMessage(SYSTEM_TOKEN, valid[i] as FakeUser, "/start")
      malformedIds.push(
        system.fake.injectUpdate(SYSTEM_TOKEN, {
          callback_query: {
            id: `bad${i}`,
            from: { id: 80_001 + i, is_bot: false },
            chat_instance: `ci${i}`,
            data: "fnew",
            message: {
              message_id: 1,
              date: Math.floor(Date.now() / 1000),
              chat: { id: 80_001 + i, type: "private" },
              text: "…",
            },
          },
        }),
      )
    }
    await system.waitFor(
      "every valid user to get an answer to /start",
      () => (valid.every((u) => startText(u.id) !== undefined) ? true : undefined),
      60_000,
    )
    const probes = Array.from({ length: 5 }, (_, i) => system.user(71_001 + i))
    for (const p of probes) {
      const answer = await p.send("/help")
      expect(answer.text.length).toBeGreaterThan(0)
    }
    // Each malformed press was answered (its button stops spinning), once.
    const answered = system.fake
      .callsTo("answerCallbackQuery")
      .map((c) => c.params.callback_query_id)
      .filter((id) => typeof id === "string" && id.startsWith("bad"))
    expect(answered.sort()).toEqual(malformedIds.map((_, i) => `bad${i}`).sort())
    const connections = await botConnections()
    expect(connections.filter((c) => c.state === "idle in transaction")).toEqual([])
    const ready = await system.runner?.get("/readyz")
    expect(ready?.status).toBe(200)
    const warned = system
      .logs()
      .filter((l) => l.logLevel === "WARN" && /update \d+ .*does not fit/.test(l.message))
    expect(warned).toHaveLength(200)
    expect(system.errorsLogged()).toEqual([])
    const { code } = await system.stopRunner()
    expect(code).toBe(0)
  })
})

/** `count` presses without a first_name and `count` valid /start, interleaved, from new users. */
const burst = (first: number, count: number) => {
  for (let i = 0; i < count; i++) {
    system.fake.injectMessage(SYSTEM_TOKEN, { id: first + i, first_name: `B ${i}` }, "/start")
    system.fake.injectUpdate(SYSTEM_TOKEN, {
      callback_query: {
        id: `burst${first + i}`,
        from: { id: first + count + i, is_bot: false },
        chat_instance: "x",
        data: "fnew",
      },
    })
  }
}

describe("a 429 storm on the bot's replies", () => {
  test("15 s of 429 (retry_after 3) with 30 users writing: one 429 per window, every user answered after it", async () => {
    await system.startRunner()
    const RETRY_AFTER = 3
    const STORM_MS = 15_000
    const refusals: number[] = []
    let stormEnds = 0
    system.fake.interceptors.unshift((ctx: CallContext) => {
      if (Date.now() >= stormEnds || ctx.method === "getUpdates" || ctx.method === "getMe")
        return undefined
      refusals.push(Date.now())
      return {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${RETRY_AFTER}`,
        parameters: { retry_after: RETRY_AFTER },
      }
    })
    stormEnds = Date.now() + STORM_MS
    const users = Array.from({ length: 30 }, (_, i) => system.user(73_001 + i))
    for (const u of users) {
      system.fake.injectMessage(SYSTEM_TOKEN, u.from, "/help")
      await Bun.sleep(200)
    }
    await system.waitFor(
      "every user to be answered after the storm",
      () => (users.every((u) => u.messages().length > 0) ? true : undefined),
      90_000,
    )
    // A refusal inside the retry_after of an earlier one means a reply did not wait for the gate.
    const inWindow = refusals.filter((at, i) =>
      refusals
        .slice(0, i)
        .some((earlier) => at > earlier + 50 && at < earlier + RETRY_AFTER * 1000 - 50),
    )
    expect(inWindow).toEqual([])
    expect(refusals.length).toBeLessThanOrEqual(Math.ceil(STORM_MS / 1000 / RETRY_AFTER) + 1)
    for (const u of users) expect(u.messages().some((m) => m.text.includes("/filters"))).toBe(true)
    console.info(
      `[fault bot 429 storm] ${STORM_MS} ms, retry_after ${RETRY_AFTER}: ${refusals.length} x 429 to the bot's replies, 0 inside a window; 30/30 users answered`,
    )
    const { code } = await system.stopRunner()
    expect(code).toBe(0)
  })
})

describe("readiness tells the truth", () => {
  test("a bot whose pool is stuck is reported not ready and restarted; users are answered after", async () => {
    const runner = await system.startRunner(
      { UNREADY_RESTART_AFTER: "5 seconds" },
      { args: ["--only", "bot"] },
    )
    const lock = await system.sql.reserve()
    try {
      await lock`begin`
      await lock`lock table users in access exclusive mode`
      const stuck = Array.from({ length: 10 }, (_, i) => system.user(74_001 + i))
      for (const u of stuck) system.fake.injectMessage(SYSTEM_TOKEN, u.from, "/start")
      const unready = await system.waitFor(
        "/readyz to say the bot's pool is stuck",
        async () => {
          const res = await runner.get("/readyz")
          if (res.status !== 503) return undefined
          const body = (await res.json()) as {
            components: Array<{ name: string; reason?: string }>
          }
          const reason = body.components.find((c) => c.name === "bot")?.reason
          return reason?.includes("database pool") === true ? reason : undefined
        },
        60_000,
      )
      expect(unready).toMatch(/^database pool: a query has waited \d+ s for an answer/)
      await system.waitFor(
        "the runner to restart the bot",
        async () =>
          ((await system.metric("flatwatch_component_restarts_total", { component: "bot" })) ??
            0) >= 1
            ? true
            : undefined,
        30_000,
      )
      await lock`rollback`
      // The updates the stuck bot held were answered with an apology when it was stopped (a
      // graceful stop: its worker was not terminated).
      await system.waitFor(
        "every user who wrote during the stall to get an answer",
        () => (stuck.every((u) => u.messages().length > 0) ? true : undefined),
        30_000,
      )
      for (const u of stuck) expect(u.messages()[0]?.text).toContain("something went wrong")
      expect(system.logs().filter((l) => l.message.includes("terminating its worker"))).toEqual([])
      await runner.waitReady(60_000)
      const probe = await system.user(74_101).send("/help", 30_000)
      expect(probe.text).toContain("/filters")
      expect(
        system
          .logs()
          .some((l) => /component bot is not ready for \d+ s \(database pool/.test(l.message)),
      ).toBe(true)
      console.info(
        `[fault bot stuck pool] /readyz said “${unready}”; restarted; 10/10 answered, the next user too`,
      )
    } finally {
      lock.release()
    }
    const { code } = await system.stopRunner()
    expect(code).toBe(0)
  })
})

// Last: the runner stops with updates in hand, which Telegram would hand out again.
describe("shutdown after a burst", () => {
  test("SIGTERM while the burst's replies hang: handlers interrupted at the drain deadline, exit 0 within SHUTDOWN_TIMEOUT", async () => {
    // SHUTDOWN_TIMEOUT 8 s: the bot waits 4 s for its updates, then interrupts them.
    await system.startRunner({ SHUTDOWN_TIMEOUT: "8 seconds" })
    // Telegram takes 30 s to answer each reply: the burst is still in hand at the signal.
    system.fake.limits.slowAnswers(30_000, (ctx) => ctx.method === "sendMessage")
    try {
      const before = system.fake.callsTo("sendMessage").length
      burst(72_001, 200)
      await system.waitFor("the bot to take the burst", () =>
        system.fake.callsTo("sendMessage").length > before ? true : undefined,
      )
      const { code, ms } = await system.stopRunner()
      // Exit 0 says every worker stopped inside SHUTDOWN_TIMEOUT (past it the runner terminates
      // them and exits 3); the wall-clock bound only adds the process's own teardown.
      expect({ code, withinDeadline: ms < 12_000 }).toEqual({ code: 0, withinDeadline: true })
      const interrupted = system
        .logs()
        .filter((l) =>
          /still in flight after the 4s drain deadline; interrupting them/.test(l.message),
        )
      expect(interrupted).toHaveLength(1)
      console.info(
        `[fault bot burst SIGTERM] exit ${code} after ${Math.round(ms)} ms; ${interrupted[0]?.message}`,
      )
    } finally {
      system.fake.limits.slowAnswers(0)
    }
  })
})
