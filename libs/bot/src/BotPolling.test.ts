/**
 * Long polling while Telegram fails (`getUpdates` answers 502, as in an outage): the bot keeps
 * asking at a bounded pace, so it is back within seconds of Telegram, and what a user sent
 * meanwhile is answered then.
 *
 * (grammY runner's default retry interval doubles without limit: after a 30-second outage the
 * bot asked again only 20 seconds after Telegram was back; after ten minutes, ten minutes.)
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { fail } from "@flatwatch/telegram/FakeBotApi"
import { BotHarness, TEST_TOKEN } from "./BotTestKit.ts"

setDefaultTimeout(60_000)

let h: BotHarness

beforeAll(async () => {
  h = await BotHarness.start()
  await h.startBot()
})
afterAll(() => h.stop())

test("getUpdates fails for a while: the bot retries at a bounded pace and answers what was sent meanwhile", async () => {
  const anna = h.user(401, { language_code: "en" })
  await anna.send("/start")

  let down = true
  h.fake.interceptors.unshift((ctx) =>
    down && ctx.method === "getUpdates" ? fail(502, "Bad Gateway") : undefined,
  )
  const since = h.fake.calls.length
  // Ends the long poll that was accepted before the outage; every later one is refused.
  const other = h.user(402, { language_code: "en" })
  h.fake.injectMessage(TEST_TOKEN, other.from, "/start")
  const refused = () => h.fake.calls.slice(since).filter((c) => c.method === "getUpdates")
  // Anna writes while Telegram is down: her update waits at Telegram.
  await h.fake.waitForCall((c) => c.method === "getUpdates" && h.fake.calls.indexOf(c) >= since)
  const before = anna.messages().length
  h.fake.injectMessage(TEST_TOKEN, anna.from, "/help")

  // Ten attempts in a row fail; however long that takes, no two are far apart.
  const ATTEMPTS = 10
  const deadline = Date.now() + 30_000
  while (refused().length < ATTEMPTS && Date.now() < deadline) await Bun.sleep(50)
  const attempts = refused().slice(0, ATTEMPTS)
  expect(attempts.length).toBe(ATTEMPTS)
  const gaps = attempts.slice(1).map((c, i) => c.at - (attempts[i]?.at ?? c.at))
  expect(Math.max(...gaps)).toBeLessThan(2_500)

  down = false
  const answer = await h.chats.waitUntil(() => anna.messages()[before], 15_000)
  expect(answer.text).toContain("/filters")
  expect(h.logs.some((l) => l.message.includes("getUpdates failed: 502 Bad Gateway"))).toBe(true)
})

test("the token rejected while polling (401): a supervised bot reports itself fatal once and stops polling", async () => {
  const hs = await BotHarness.start()
  try {
    const fatal: string[] = []
    await hs.startBot({}, { onFatal: (m) => fatal.push(m) })
    const anna = hs.user(403, { language_code: "en" })
    await anna.send("/start")
    hs.fake.interceptors.unshift((ctx) =>
      ctx.method === "getUpdates" ? fail(401, "Unauthorized") : undefined,
    )
    // Ends the long poll accepted before; the next one is refused.
    hs.fake.injectMessage(TEST_TOKEN, hs.user(404).from, "/start")
    const deadline = Date.now() + 15_000
    while (fatal.length === 0 && Date.now() < deadline) await Bun.sleep(20)
    expect(fatal).toEqual([
      "BOT_TOKEN was rejected by the Bot API while polling (Bot API getUpdates: 401 Unauthorized); check the token from @BotFather",
    ])
    // It waits to be stopped by its host instead of asking Telegram again and again.
    const polls = hs.fake.calls.filter((c) => c.method === "getUpdates").length
    await Bun.sleep(2_000)
    expect(hs.fake.calls.filter((c) => c.method === "getUpdates").length).toBe(polls)
    expect(fatal.length).toBe(1)
  } finally {
    await hs.stop()
  }
})

test("the token rejected while polling, unsupervised (no host to restart it): the bot keeps retrying with backoff", async () => {
  const hs = await BotHarness.start()
  try {
    await hs.startBot()
    let rejected = true
    hs.fake.interceptors.unshift((ctx) =>
      rejected && ctx.method === "getUpdates" ? fail(401, "Unauthorized") : undefined,
    )
    const anna = hs.user(405, { language_code: "en" })
    hs.fake.injectMessage(TEST_TOKEN, anna.from, "/start")
    const deadline = Date.now() + 15_000
    const restarts = () =>
      hs.logs.filter((l) => l.message.includes("restarting long polling")).length
    while (restarts() < 2 && Date.now() < deadline) await Bun.sleep(20)
    expect(restarts()).toBeGreaterThanOrEqual(2)
    rejected = false
    const answer = await hs.chats.waitUntil(() => anna.messages()[0], 15_000)
    expect(answer.text).toContain("Flatwatch")
  } finally {
    await hs.stop()
  }
})
