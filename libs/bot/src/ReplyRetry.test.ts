/**
 * The bot's replies during a short Telegram outage: a reply answered 5xx, 429 or garbage is sent
 * again until it goes through (within the method's deadline); errors that asking again will not
 * change are not retried.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { type CallContext, fail } from "@flatwatch/telegram/FakeBotApi"
import { BotHarness, TEST_TOKEN } from "./BotTestKit.ts"
import { retryDeadlineMs } from "./ReplyRetry.ts"

setDefaultTimeout(60_000)

let h: BotHarness

beforeAll(async () => {
  h = await BotHarness.start()
  await h.startBot()
})
afterAll(() => h.stop())

/** Answers the first `times` sendMessage calls to `chatId` with `answer`. */
const failSends = (
  chatId: number,
  times: number,
  answer: () => ReturnType<typeof fail> | Response,
) => {
  let left = times
  h.fake.interceptors.unshift((ctx: CallContext) => {
    if (ctx.method !== "sendMessage" || Number(ctx.params.chat_id) !== chatId || left <= 0)
      return undefined
    left--
    return answer()
  })
}

const sendsTo = (chatId: number) =>
  h.fake.calls.filter((c) => c.method === "sendMessage" && Number(c.params.chat_id) === chatId)

test("a reply answered 502 twice is sent again, 1 s then 2 s later, and arrives once", async () => {
  const anna = h.user(501, { language_code: "en" })
  failSends(anna.id, 2, () => fail(502, "Bad Gateway"))
  const started = Date.now()
  h.fake.injectMessage(TEST_TOKEN, anna.from, "/help")
  const answer = await h.chats.waitUntil(() => anna.messages()[0], 15_000)
  expect(answer.text).toContain("/filters")
  expect(anna.messages().length).toBe(1)
  expect(sendsTo(anna.id).length).toBe(3)
  expect(Date.now() - started).toBeGreaterThanOrEqual(3_000)
  expect(
    h.logs.some((l) =>
      l.message.includes("sendMessage failed (502 Bad Gateway); retrying in 1000 ms"),
    ),
  ).toBe(true)
})

test("a reply answered 429 waits retry_after and is sent again", async () => {
  const boris = h.user(502, { language_code: "en" })
  failSends(boris.id, 1, () => fail(429, "Too Many Requests: retry after 1", { retry_after: 1 }))
  h.fake.injectMessage(TEST_TOKEN, boris.from, "/help")
  const answer = await h.chats.waitUntil(() => boris.messages()[0], 15_000)
  expect(answer.text).toContain("/filters")
  const [first, second] = sendsTo(boris.id)
  expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950)
})

test("a reply answered with something other than JSON (a proxy's error page) is sent again", async () => {
  const vera = h.user(503, { language_code: "en" })
  failSends(vera.id, 1, () => new Response("<html>502 Bad Gateway</html>", { status: 502 }))
  h.fake.injectMessage(TEST_TOKEN, vera.from, "/help")
  const answer = await h.chats.waitUntil(() => vera.messages()[0], 15_000)
  expect(answer.text).toContain("/filters")
  expect(sendsTo(vera.id).length).toBe(2)
})

test("a 400 or 403 is not retried", async () => {
  const gleb = h.user(504, { language_code: "en" })
  failSends(gleb.id, 5, () => fail(400, "Bad Request: message is too long"))
  const before = h.logs.length
  h.fake.injectMessage(TEST_TOKEN, gleb.from, "/help")
  // The error boundary logs the failed update; the reply was tried once (its apology too).
  const deadline = Date.now() + 10_000
  while (!h.logs.slice(before).some((l) => l.level === "ERROR") && Date.now() < deadline)
    await Bun.sleep(20)
  await Bun.sleep(1_500)
  expect(h.logs.slice(before).some((l) => l.message.includes("retrying"))).toBe(false)
  expect(sendsTo(gleb.id).length).toBeLessThanOrEqual(2)
})

test("deadlines follow Telegram's limits: pre-checkout within 10 s, button answers within 15 s", () => {
  expect(retryDeadlineMs("answerPreCheckoutQuery")).toBeLessThan(10_000)
  expect(retryDeadlineMs("answerCallbackQuery")).toBeLessThan(15_000)
  expect(retryDeadlineMs("sendMessage")).toBe(60_000)
})

test("a reply Telegram does not answer within TELEGRAM_TIMEOUT is abandoned and sent again", async () => {
  const hs = await BotHarness.start()
  try {
    await hs.startBot({ TELEGRAM_TIMEOUT: "1 second" })
    const dina = hs.user(505, { language_code: "en" })
    let stalled = 0
    // The first answer comes after 5 s (and says nothing was delivered); the retry is answered.
    hs.fake.interceptors.unshift(async (ctx: CallContext) => {
      if (ctx.method !== "sendMessage" || Number(ctx.params.chat_id) !== dina.id || stalled > 0)
        return undefined
      stalled++
      await Bun.sleep(5_000)
      return fail(502, "Bad Gateway")
    })
    const started = Date.now()
    hs.fake.injectMessage(TEST_TOKEN, dina.from, "/help")
    const answer = await hs.chats.waitUntil(() => dina.messages()[0], 15_000)
    const tookMs = Date.now() - started
    expect(answer.text).toContain("/filters")
    // Abandoned after 1 s, sent again 1 s later: well before the stalled call would have answered.
    expect(tookMs).toBeLessThan(4_500)
    expect(
      hs.fake.calls.filter(
        (c) => c.method === "sendMessage" && Number(c.params.chat_id) === dina.id,
      ).length,
    ).toBe(2)
    expect(
      hs.logs.some(
        (l) => l.message === "sendMessage failed (no answer within 1000 ms); retrying in 1000 ms",
      ),
    ).toBe(true)
  } finally {
    await hs.stop()
  }
})
