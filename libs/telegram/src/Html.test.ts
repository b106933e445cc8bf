import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { parseTelegramHtml } from "./FakeBotApiLimits.ts"
import * as Html from "./Html.ts"

describe("escape", () => {
  test("escapes what Telegram HTML needs, and quotes for attributes", () => {
    expect(Html.escape(`<b>Tom & "Jerry"</a>`)).toBe(
      "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/a&gt;",
    )
  })

  test("any escaped text parses as Telegram HTML and shows exactly the original", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        const parsed = parseTelegramHtml(`<b>${Html.escape(text)}</b>`)
        expect(parsed).toEqual({ ok: true, text })
        expect(Html.visibleLength(Html.escape(text))).toBe(text.length)
      }),
    )
  })
})

describe("truncate", () => {
  test("short text is left alone", () => {
    expect(Html.truncate("Two bedroom flat", 16)).toBe("Two bedroom flat")
  })

  test("cuts at a word boundary and adds an ellipsis within the limit", () => {
    const cut = Html.truncate("Spacious two bedroom apartment with a marina view", 30)
    expect(cut).toBe("Spacious two bedroom…")
    expect(cut.length).toBeLessThanOrEqual(30)
  })

  test("drops trailing punctuation before the ellipsis", () => {
    expect(Html.truncate("Marina, JBR, Palm, Downtown, Business Bay", 22)).toBe(
      "Marina, JBR, Palm…",
    )
  })

  test("one enormous word is cut hard rather than emptied", () => {
    expect(Html.truncate("x".repeat(50), 10)).toBe(`${"x".repeat(9)}…`)
  })

  test("never splits a surrogate pair", () => {
    const cut = Html.truncate("🏠".repeat(10), 6)
    expect(cut).toBe("🏠🏠…")
    expect(Html.escape(cut)).toBe(cut)
  })

  test("always within the limit, never a lone surrogate", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.integer({ min: 1, max: 200 }),
        (text, max) => {
          const cut = Html.truncate(text, max)
          expect(cut.length).toBeLessThanOrEqual(max)
          expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false)
          if (text.length <= max) expect(cut).toBe(text)
        },
      ),
    )
  })
})

describe("clean", () => {
  test("collapses whitespace and drops invisible characters", () => {
    expect(Html.clean("  Nice\u200b  flat\t\n\n in\u0007 JLT \u202e ")).toBe("Nice flat in JLT")
  })

  test("with paragraphs keeps line breaks, at most one blank line", () => {
    expect(Html.clean("Line one  \r\n\r\n\r\n\r\n  line two\nthree", { paragraphs: true })).toBe(
      "Line one\n\nline two\nthree",
    )
  })
})

describe("toPlainText / visibleLength", () => {
  test("tags dropped, Telegram's entities decoded, other ampersands kept", () => {
    const html =
      '<b>A &amp; B</b> <a href="https://x.test/?a=1&amp;b=2">link</a> &lt;3 &#128512; &nbsp;'
    expect(Html.toPlainText(html)).toBe("A & B link <3 😀 &nbsp;")
    expect(Html.visibleLength(html)).toBe("A & B link <3 😀 &nbsp;".length)
  })

  test("agrees with the fake's Telegram parser on valid HTML", () => {
    const html =
      '<b>Price</b> <i>drop</i>: <s>AED 13,000</s> &quot;now&quot; <a href="https://a.test">here</a>'
    const parsed = parseTelegramHtml(html)
    expect(parsed.ok && parsed.text).toBe(Html.toPlainText(html))
  })
})

describe("link", () => {
  test("http(s) and tg links become anchors with escaped parts", () => {
    expect(Html.link('https://x.test/?q="1"&a=<2>', "Open <here>")).toBe(
      '<a href="https://x.test/?q=&quot;1&quot;&amp;a=&lt;2&gt;">Open &lt;here&gt;</a>',
    )
  })

  test("other schemes (javascript:, tel:) are shown as text only", () => {
    expect(Html.link("javascript:alert(1)", "x")).toBe("x")
    expect(Html.link("tel:+971501234567", "call")).toBe("call")
  })
})
