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
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import type { FakeUser } from "@flatwatch/telegram/FakeBotApi"
import { SYSTEM_TOKEN, System } from "../support/system.ts"

setDefaultTimeout(120_000)

let system: System

beforeAll(async () => {
  system = await System.start({ env: { BAYUT_ENABLED: "false" } })
})
afterAll(async () => {
  await system?.stop()
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
