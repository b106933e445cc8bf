/**
 * Faults of Telegram itself, each on its own system, two side by side (they spend most of their
 * time waiting out the fault; `System.turn`):
 *
 * - the Bot API answers 502 to everything for 30 seconds, then recovers;
 * - a 429 storm: everything is answered 429 with `retry_after` for a while;
 * - Telegram rejects the bot's own calls (`getMe`, `getUpdates` answer 401, as for a revoked
 *   token) for a while, the senders' calls still going through: while the bot runs, and while
 *   it starts.
 *
 * Expected: both senders (parser: listing alerts; subscriptions: notices) back off or pause, lose
 * nothing and send nothing twice (the fake delivers nothing it answered with an error). The bot
 * gets what users sent meanwhile and answers it once Telegram is back. A bot rejected while
 * running stops its component (a 401 from `getUpdates` will not pass by retrying polling), and a
 * bot rejected at start fails to start: either way the runner restarts the bot component with
 * backoff (1 s, 2 s, 4 s, ...), visible in /metrics, /readyz and the log; the parser and
 * subscriptions components keep sending meanwhile.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import type { Answer, CallContext } from "@flatwatch/telegram/FakeBotApi"
import {
  duplicatesOf,
  outboxCounts,
  restarts,
  seedBacklog,
  seedNotices,
  sendsPerAlert,
  waitAllSent,
} from "../support/faults.ts"
import { SYSTEM_TOKEN, System, type Turn, visible, withStarts } from "../support/system.ts"

setDefaultTimeout(150_000)

const systems: System[] = []
afterAll(async () => {
  await Promise.all(systems.map((s) => s.stop()))
})

const startSystem = async (turn: Turn, env: Readonly<Record<string, string>>) => {
  const system = turn.own(await System.start({ env }))
  systems.push(system)
  await system.startRunner()
  return system
}

/** Answers every call with `answer` while `on()` says so; counts what it refused. */
const outage = (system: System, answer: (ctx: CallContext) => Answer) => {
  const state = { on: false, refused: 0, refusedSends: 0 }
  system.fake.interceptors.unshift((ctx) => {
    if (!state.on) return undefined
    state.refused++
    if (ctx.method.startsWith("send")) state.refusedSends++
    return answer(ctx)
  })
  return state
}

const BOT_CALLS = new Set(["getMe", "getUpdates", "setMyCommands", "deleteWebhook"])

/** While `state.on`, the bot's own calls get 401 Unauthorized; sends are untouched. */
const rejectBotCalls = (system: System) => {
  const state = { on: false, refused: 0 }
  system.fake.interceptors.unshift((ctx: CallContext) => {
    if (!state.on || !BOT_CALLS.has(ctx.method)) return undefined
    state.refused++
    return { ok: false, error_code: 401, description: "Unauthorized" }
  })
  return state
}

const USERS = 20

test.concurrent("the Bot API answers 502 for 30 s: every alert and notice arrives once after it recovers; the bot answers what users sent meanwhile", async () => {
  await using turn = await System.turn()
  const system = await startSystem(turn, {
    // Shorter than the defaults (2 s doubling, 5 min cap) so that the recovery is measured in
    // seconds; the behaviour (one probe at a time, backoff) is the same.
    SEND_RETRY_BASE: "500 millis",
    SEND_RETRY_MAX: "4 seconds",
  })
  const fault = outage(system, () => ({
    ok: false,
    error_code: 502,
    description: "Bad Gateway",
  }))
  const renter = system.user(49_999, { language_code: "en" })
  await renter.send("/start")

  fault.on = true
  const downAt = Date.now()
  const users = await seedBacklog(system, {
    firstUser: 40_001,
    users: USERS,
    listings: 2,
    prefix: "G",
  })
  await seedNotices(system, users, "outage")
  // The long poll in flight when Telegram broke returns this update; the bot's reply to it is
  // refused (502) and sent again 1, 2, 4, 8, 16 s later (within its minute): the last try is
  // after the outage. Every later getUpdates is refused, so what the renter sends next waits
  // at Telegram.
  const unlucky = system.user(49_998, { language_code: "en" })
  const since = system.fake.calls.length
  system.fake.injectMessage(SYSTEM_TOKEN, unlucky.from, "/start")
  await system.fake.waitForCall(
    (c) => c.method === "getUpdates" && system.fake.calls.indexOf(c) >= since,
  )
  const mark = renter.mark()
  system.fake.injectMessage(SYSTEM_TOKEN, renter.from, "/help")
  await Bun.sleep(30_000 - (Date.now() - downAt))
  const callsDuringOutage = fault.refused
  const sendsDuringOutage = fault.refusedSends
  const retriedDuringOutage = await system.metric("flatwatch_delivery_retried_total", {
    component: "parser",
  })
  fault.on = false
  const upAt = Date.now()

  let botBackMs = 0
  const answered = renter
    .nextMessage(() => true, { mark, timeoutMs: 60_000 })
    .then((m) => {
      botBackMs = Date.now() - upAt
      return m
    })
  const total = USERS * 2 + USERS
  await waitAllSent(system, total, 60_000)
  const sentAfterMs = Date.now() - upAt
  expect(visible(await answered)).toContain("/filters")
  // The bot kept asking Telegram at a bounded pace, so it was back within seconds.
  const polls = system.fake.calls.slice(since).filter((c) => c.method === "getUpdates")
  const gaps = polls.slice(1).map((c, i) => c.at - (polls[i]?.at ?? c.at))
  expect(Math.max(...gaps)).toBeLessThan(5_000)

  // The reply refused during the outage arrived, once.
  const late = await unlucky.nextMessage(() => true, { mark: 0, timeoutMs: 30_000 })
  expect(visible(late)).toContain("Flatwatch")
  expect(unlucky.messages().length).toBe(1)

  const counts = sendsPerAlert(system, (m) => m.chatId !== renter.id && m.chatId !== unlucky.id)
  const alerts = [...counts].filter(([k]) => k.includes("|http"))
  expect(alerts.length).toBe(USERS * 2)
  expect(duplicatesOf(new Map(alerts))).toBe(0)
  const notices = [...counts].filter(([k]) => k.includes("|Notice outage"))
  expect(notices.length).toBe(USERS)
  expect(duplicatesOf(new Map(notices))).toBe(0)
  expect(await outboxCounts(system)).toMatchObject({ sent: total, failed: 0, cancelled: 0 })
  expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
  // The senders probed, one at a time with backoff, instead of hammering a broken API.
  expect(retriedDuringOutage).toBeGreaterThan(0)
  expect(sendsDuringOutage).toBeLessThan(60)
  console.info(
    `[fault bot-api 5xx] 30 s of 502: ${callsDuringOutage} calls refused (${sendsDuringOutage} sends); ` +
      `all ${total} sent ${sentAfterMs} ms after recovery; the bot answered the update sent meanwhile ${botBackMs} ms after recovery (longest gap between getUpdates ${Math.max(...gaps)} ms); the reply refused during the outage reached its user after it; duplicates 0`,
  )
})

test.concurrent("a 429 storm: both senders pause for retry_after and resume; nothing lost, nothing twice", async () => {
  await using turn = await System.turn()
  const system = await startSystem(turn, {})
  const RETRY_AFTER = 2
  const STORM_MS = 6_000
  const fault = outage(system, () => ({
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${RETRY_AFTER}`,
    parameters: { retry_after: RETRY_AFTER },
  }))
  fault.on = true
  const stormAt = Date.now()
  const users = await seedBacklog(system, {
    firstUser: 50_001,
    users: USERS,
    listings: 2,
    prefix: "S",
  })
  await seedNotices(system, users, "storm")
  await Bun.sleep(STORM_MS - (Date.now() - stormAt))
  const sendsDuringStorm = fault.refusedSends
  fault.on = false

  const total = USERS * 2 + USERS
  await waitAllSent(system, total, 60_000)
  const counts = sendsPerAlert(system)
  expect(counts.size).toBe(total)
  expect(duplicatesOf(counts)).toBe(0)
  const limited = {
    parser: await system.metric("flatwatch_delivery_rate_limited_total", { sender: "parser" }),
    subscriptions: await system.metric("flatwatch_delivery_rate_limited_total", {
      sender: "subscriptions",
    }),
  }
  expect(limited.parser).toBeGreaterThan(0)
  expect(limited.subscriptions).toBeGreaterThan(0)
  // Paused, not hammering: per pause each sender has at most SEND_CONCURRENCY (3) sends in
  // flight, and a pause lasts retry_after.
  const pauses = Math.ceil(STORM_MS / 1000 / RETRY_AFTER) + 1
  expect(sendsDuringStorm).toBeLessThanOrEqual(2 * 3 * pauses)
  expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
  console.info(
    `[fault bot-api 429] ${STORM_MS} ms storm, retry_after ${RETRY_AFTER}: ${sendsDuringStorm} sends refused (bound ${2 * 3 * pauses}); ` +
      `429s counted: parser ${limited.parser}, subscriptions ${limited.subscriptions}; all ${total} sent once`,
  )
})

test.concurrent("rejected while running: the bot component stops, the runner restarts it with backoff while the others keep sending, the bot answers once accepted", async () => {
  await using turn = await System.turn()
  const system = turn.own(await System.start())
  systems.push(system)
  await system.startRunner()
  const reject = rejectBotCalls(system)
  const renter = system.user(70_999, { language_code: "en" })
  await renter.send("/start")

  reject.on = true
  const since = system.logs().length
  // Ends the long poll accepted before; the next one is refused.
  await system.user(70_998, { language_code: "en" }).send("/start")
  const restartsOf = async (c: string) =>
    (await system.metric("flatwatch_component_restarts_total", { component: c })) ?? 0
  await system.waitFor(
    "the runner to restart the bot component twice",
    async () => ((await restartsOf("bot")) >= 2 ? true : undefined),
    withStarts(30_000, 2), // backoff 1 s + 2 s, and two starts of the bot's worker
  )
  const readyz = (await (await system.runner?.get("/readyz"))?.json()) as {
    ready: boolean
    components: Array<{ name: string; ready: boolean; lastError: string }>
  }
  expect(readyz.ready).toBe(false)
  expect(readyz.components.find((c) => c.name === "bot")?.lastError).toContain(
    "BOT_TOKEN was rejected",
  )

  // Meanwhile the other components send, and are not restarted.
  const users = await seedBacklog(system, {
    firstUser: 70_001,
    users: 10,
    listings: 1,
    prefix: "R",
  })
  await seedNotices(system, users, "rejected")
  await waitAllSent(system, 20, 30_000)
  const refusedWhileDown = reject.refused
  expect(await restartsOf("parser")).toBe(0)
  expect(await restartsOf("subscriptions")).toBe(0)
  const logged = system
    .logs()
    .slice(since)
    .filter((l) => l.annotations?.component === "bot" && l.logLevel === "ERROR")
    .map((l) => l.message)
  expect(
    logged.some(
      (m) => m.includes("cannot go on") && m.includes("rejected by the Bot API while polling"),
    ),
  ).toBe(true)

  reject.on = false
  const upAt = Date.now()
  await system.runner?.waitReady(60_000)
  const answer = await renter.send("/help", 90_000)
  const backMs = Date.now() - upAt
  expect(visible(answer)).toContain("/filters")
  console.info(
    `[fault bot rejected, running] ${refusedWhileDown} bot calls refused; the bot component stopped and was restarted ` +
      `${await restartsOf("bot")} times by the runner (/readyz 503 meanwhile); parser and subscriptions sent 20 with 0 restarts; ` +
      `the bot answered ${backMs} ms after Telegram accepted it again`,
  )
})

test.concurrent("rejected at start: the runner restarts the bot component with backoff while parser and subscriptions send; it comes back once accepted", async () => {
  await using turn = await System.turn()
  const system = turn.own(await System.start())
  systems.push(system)
  const reject = rejectBotCalls(system)
  reject.on = true
  await system.startRunner({}, { ready: false })

  // The runner's HTTP endpoint opens a moment after the process starts.
  const restartsOf = async (c: string) =>
    (await system
      .metric("flatwatch_component_restarts_total", { component: c })
      .catch(() => undefined)) ?? 0
  await system.waitFor(
    "the runner to restart the bot component three times",
    async () => ((await restartsOf("bot")) >= 3 ? true : undefined),
    withStarts(30_000, 4), // the runner's start, backoff 1 + 2 + 4 s, three starts of the bot
  )
  const readyz = (await (await system.runner?.get("/readyz"))?.json()) as {
    ready: boolean
    components: Array<{ name: string; ready: boolean; restarts: number; lastError: string }>
  }
  expect(readyz.ready).toBe(false)
  const bot = readyz.components.find((c) => c.name === "bot")
  expect(bot?.ready).toBe(false)
  expect(bot?.lastError).toContain("BOT_TOKEN was rejected")
  expect(readyz.components.filter((c) => c.name !== "bot").every((c) => c.ready)).toBe(true)

  // Meanwhile the other components send.
  const users = await seedBacklog(system, {
    firstUser: 80_001,
    users: 10,
    listings: 1,
    prefix: "B",
  })
  await seedNotices(system, users, "bot-down")
  await waitAllSent(system, 20, 30_000)
  expect(await restartsOf("parser")).toBe(0)
  expect(await restartsOf("subscriptions")).toBe(0)

  // Backoff, not a loop: the delays announced in the log grow.
  const delays = system
    .logs()
    .map((l) => /^component bot stopped unexpectedly .*restarting in (\S+)/s.exec(l.message)?.[1])
    .filter((d): d is string => d !== undefined)
  expect(delays.slice(0, 3)).toEqual(["1s", "2s", "4s"])

  reject.on = false
  const upAt = Date.now()
  await system.runner?.waitReady(60_000)
  const readyMs = Date.now() - upAt
  const renter = system.user(80_999, { language_code: "en" })
  expect(visible(await renter.send("/help"))).toContain("/filters")
  const total = await restartsOf("bot")
  console.info(
    `[fault bot rejected, at start] bot restarted ${total} times by the runner (delays ${delays.join(", ")}); ` +
      `parser and subscriptions sent 20 meanwhile with 0 restarts; ready ${readyMs} ms after Telegram accepted the bot`,
  )
})
