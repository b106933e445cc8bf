import { afterAll, beforeAll, expect, test } from "bun:test"
import { Api } from "grammy"
import { classify } from "./BotApiError.ts"
import { FakeBotApi } from "./FakeBotApi.ts"

const TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
let fake: FakeBotApi
let api: Api

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  api = new Api(TOKEN, { apiRoot: fake.apiRoot })
})
afterAll(() => fake.stop())

/** What a real grammY call against the fake throws, classified. */
const outcome = async (call: () => Promise<unknown>, method = "sendMessage") => {
  const error = await call().then(
    () => {
      throw new Error("the call succeeded")
    },
    (e: unknown) => e,
  )
  return classify(method, error)
}

test("429 -> RateLimited with retry_after", async () => {
  fake.limits.rateLimitNext(1, 7)
  const e = await outcome(() => api.sendMessage(1, "x"))
  expect(e.reason).toBe("RateLimited")
  expect(e.retryAfter).toBe(7)
})

test("403 -> Blocked, keeping Telegram's description", async () => {
  fake.limits.blockChat(2, "Forbidden: user is deactivated")
  const e = await outcome(() => api.sendMessage(2, "x"))
  expect(e.reason).toBe("Blocked")
  expect(e.message).toBe("403: Forbidden: user is deactivated")
})

test("400 on sendPhoto about the picture -> BadPhoto; other 400s -> BadRequest", async () => {
  fake.limits.breakPhoto("https://img.test/x.jpg", "Bad Request: failed to get HTTP URL content")
  const photo = await outcome(() => api.sendPhoto(1, "https://img.test/x.jpg"), "sendPhoto")
  expect(photo.reason).toBe("BadPhoto")
  const caption = await outcome(
    () => api.sendPhoto(1, "https://img.test/ok.jpg", { caption: "c".repeat(2000) }),
    "sendPhoto",
  )
  expect(caption.reason).toBe("BadRequest")
  expect(caption.description).toBe("Bad Request: message caption is too long")
})

test("400 can't parse entities -> BadEntities", async () => {
  const e = await outcome(() => api.sendMessage(1, "<b>x", { parse_mode: "HTML" }))
  expect(e.reason).toBe("BadEntities")
})

test("5xx, non-JSON answers and network failures -> Transient, without the URL or token", async () => {
  fake.limits.failNext(1, 503, "Service Unavailable")
  expect((await outcome(() => api.sendMessage(1, "x"))).reason).toBe("Transient")
  fake.limits.nonJsonNext(1)
  const html = await outcome(() => api.sendMessage(1, "x"))
  expect(html).toMatchObject({ reason: "Transient", description: "the answer is not Bot API JSON" })
  const down = new Api(TOKEN, { apiRoot: "http://127.0.0.1:1" })
  const network = await outcome(() => down.sendMessage(1, "x"))
  expect(network.reason).toBe("Transient")
  expect(network.description).toStartWith("network error")
  expect(network.description).not.toContain(TOKEN)
  expect(network.description).not.toContain("127.0.0.1")
})

test("401 -> Unauthorized", async () => {
  const e = await outcome(() => new Api("999:wrong", { apiRoot: fake.apiRoot }).sendMessage(1, "x"))
  expect(e.reason).toBe("Unauthorized")
})

test("a token inside an unexpected error's message is masked", () => {
  const e = classify("sendMessage", new TypeError(`fetch failed for /bot${TOKEN}/sendMessage`))
  expect(e.reason).toBe("Transient")
  expect(e.description).toBe("TypeError: fetch failed for /bot<token>/sendMessage")
})
