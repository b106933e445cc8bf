import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Api, GrammyError, HttpError } from "grammy"
import { FakeBotApi } from "./FakeBotApi.ts"
import { parseTelegramHtml } from "./FakeBotApiLimits.ts"

const TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
let fake: FakeBotApi
let api: Api

beforeEach(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  api = new Api(TOKEN, { apiRoot: fake.apiRoot })
})
afterEach(() => fake.stop())

const errorOf = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  if (!(e instanceof GrammyError)) throw new Error(`expected a GrammyError, got ${String(e)}`)
  return e
}

describe("Telegram HTML", () => {
  test.each([
    [
      '<b>bold</b> <i>it</i> <a href="https://x.test">l</a> &lt;3 &amp; &quot;q&quot; &#8364;',
      'bold it l <3 & "q" €',
    ],
    [
      '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler><pre><code class="language-ts">x</code></pre>',
      "stx",
    ],
    ["<blockquote expandable>quote</blockquote> Tom & Jerry &nbsp;", "quote Tom & Jerry &nbsp;"],
  ])("valid: %s", (html, text) => {
    expect(parseTelegramHtml(html)).toEqual({ ok: true, text })
  })

  test.each([
    ["<b>unclosed", `Can't find end tag corresponding to start tag "b"`],
    ["<b>x</i>", `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`],
    ["x</a>", "Unexpected end tag at byte offset 1"],
    ["<div>x</div>", `Unsupported start tag "div" at byte offset 0`],
    ["a < b", `Unsupported start tag "" at byte offset 2`],
    ["<span>x</span>", `Tag "span" must have class "tg-spoiler"`],
  ])("invalid: %s", (html, error) => {
    const parsed = parseTelegramHtml(html)
    expect(parsed.ok).toBe(false)
    expect(parsed.ok ? "" : parsed.error).toContain(error)
  })

  test("sendMessage with broken HTML gets 400 can't parse entities; without parse_mode it is fine", async () => {
    const e = await errorOf(api.sendMessage(1, "<b>Hi", { parse_mode: "HTML" }))
    expect(e.error_code).toBe(400)
    expect(e.description).toStartWith("Bad Request: can't parse entities: ")
    await api.sendMessage(1, "<b>Hi")
    expect(fake.limits.delivered.map((m) => m.text)).toEqual(["<b>Hi"])
  })

  test("length limits count the text after entities: 4096 text, 1024 caption", async () => {
    const fits = `<b>${"a".repeat(4096)}</b>`
    await api.sendMessage(1, fits, { parse_mode: "HTML" })
    const long = await errorOf(api.sendMessage(1, "a".repeat(4097)))
    expect(long.description).toBe("Bad Request: message is too long")
    await api.sendPhoto(1, "https://img.test/1.jpg", {
      caption: "&amp;".repeat(1024),
      parse_mode: "HTML",
    })
    const caption = await errorOf(
      api.sendPhoto(1, "https://img.test/1.jpg", { caption: "c".repeat(1025) }),
    )
    expect(caption.description).toBe("Bad Request: message caption is too long")
    expect(fake.limits.delivered.map((m) => m.text.length)).toEqual([4096, 1024])
  })

  test("inline keyboards: tel: URLs and callback data over 64 bytes are refused", async () => {
    const tel = await errorOf(
      api.sendMessage(1, "x", {
        reply_markup: { inline_keyboard: [[{ text: "Call", url: "tel:+971501234567" }]] },
      }),
    )
    expect(tel.description).toContain("Unsupported URL protocol")
    const data = await errorOf(
      api.sendMessage(1, "x", {
        reply_markup: { inline_keyboard: [[{ text: "Mute", callback_data: "m".repeat(65) }]] },
      }),
    )
    expect(data.description).toBe("Bad Request: BUTTON_DATA_INVALID")
  })
})

describe("sendPhoto", () => {
  test("answers a Message with the photo and caption, and records the delivery", async () => {
    const message = await api.sendPhoto(7, "https://img.test/a.jpg", {
      caption: "<b>Flat</b>",
      parse_mode: "HTML",
    })
    expect(message.photo?.length).toBeGreaterThan(0)
    expect(message.caption).toBe("<b>Flat</b>")
    expect(fake.limits.deliveredTo(7)).toMatchObject([
      {
        method: "sendPhoto",
        photo: "https://img.test/a.jpg",
        text: "Flat",
        messageId: message.message_id,
      },
    ])
  })

  test("a broken photo URL gets 400 and is not delivered", async () => {
    fake.limits.breakPhoto("https://img.test/broken.jpg")
    const e = await errorOf(api.sendPhoto(7, "https://img.test/broken.jpg"))
    expect(e.error_code).toBe(400)
    expect(e.description).toBe("Bad Request: wrong type of the web page content")
    expect(fake.limits.delivered).toHaveLength(0)
  })
})

describe("flood limits", () => {
  test("off by default: a burst to one chat goes through", async () => {
    for (let i = 0; i < 5; i++) await api.sendMessage(1, `m${i}`)
    expect(fake.limits.delivered).toHaveLength(5)
  })

  test("per chat: a second message within a second gets 429 with retry_after", async () => {
    fake.limits.rateLimit({ global: 30, perChat: 1 })
    await api.sendMessage(1, "first")
    const e = await errorOf(api.sendMessage(1, "second"))
    expect(e.error_code).toBe(429)
    expect(e.parameters.retry_after).toBe(1)
    expect(e.description).toBe("Too Many Requests: retry after 1")
    await api.sendMessage(2, "another chat is fine")
    expect(fake.limits.rateLimitedAnswers).toBe(1)
  })

  test("global: more than N messages in one second get 429", async () => {
    fake.limits.rateLimit({ global: 10, perChat: 100 })
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => api.sendMessage(100 + i, "hi")),
    )
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10)
    expect(fake.limits.rateLimitedAnswers).toBe(5)
  })
})

describe("scripted faults", () => {
  test("403 for a blocked chat", async () => {
    fake.limits.blockChat(5)
    const e = await errorOf(api.sendMessage(5, "hi"))
    expect(e.error_code).toBe(403)
    expect(e.description).toBe("Forbidden: bot was blocked by the user")
  })

  test("5xx bursts, then normal again", async () => {
    fake.limits.failNext(2, 502)
    expect((await errorOf(api.sendMessage(1, "a"))).error_code).toBe(502)
    expect((await errorOf(api.sendMessage(1, "b"))).error_code).toBe(502)
    await api.sendMessage(1, "c")
    expect(fake.limits.delivered.map((m) => m.text)).toEqual(["c"])
  })

  test("a non-JSON answer (a proxy's error page)", async () => {
    fake.limits.nonJsonNext(1)
    const e = await api.sendMessage(1, "a").catch((error: unknown) => error)
    expect(e).toBeInstanceOf(HttpError)
    const raw = await fetch(`${fake.apiRoot}/bot${TOKEN}/sendMessage?chat_id=1&text=x`)
    expect(raw.status).toBe(200)
  })

  test("scripted 429", async () => {
    fake.limits.rateLimitNext(1, 3)
    const e = await errorOf(api.sendMessage(1, "a"))
    expect(e.parameters.retry_after).toBe(3)
  })

  test("slow answers: delivered at once, answered later", async () => {
    fake.limits.slowAnswers(300)
    const started = performance.now()
    const sending = api.sendMessage(1, "slow")
    await fake.limits.waitForDelivered(1)
    const deliveredAfter = performance.now() - started
    await sending
    expect(deliveredAfter).toBeLessThan(performance.now() - started)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
  })
})
