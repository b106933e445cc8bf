import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { closeIdleWindow, cut, pruneFor, splitSelectorList, withDocument } from "./HtmlDocument.ts"
import { ownFixture } from "./SharedFixtures.ts"

const cards = (html: string, selector: string) =>
  Effect.runPromise(
    withDocument(html, (document) =>
      [...document.querySelectorAll(selector)].map((e) => e.textContent?.trim()),
    ),
  )

describe("the i<3 regression", () => {
  const page = `<html><head><script>for (var i=0;i<3;i++){ console.log(i) }</script></head>
    <body><ul id="r"><li class="c">one</li><li class="c">two</li><li class="c">three</li></ul></body></html>`

  test("an inline script containing i<3 no longer swallows the rest of the page", async () => {
    expect(await cards(cut(page, { keep: [] }).html, "li.c")).toEqual(["one", "two", "three"])
    expect(await cards(cut(page, { keep: ["#r"] }).html, "li.c")).toEqual(["one", "two", "three"])
  })

  test("the same through every hand-written page that carries such a script", async () => {
    const avito = await ownFixture("avito/serp.html")
    const page = cut(avito, { keep: ['[data-marker="catalog-serp"]'] })
    expect(page.html).not.toContain("<script")
    expect(await cards(page.html, '[data-marker="item"]')).toHaveLength(4)
  })
})

describe("cut", () => {
  const page = `<!DOCTYPE html><html><head><title>Results</title><style>b{}</style></head><body>
    <nav><a href="/">Home</a><div class="card">outside</div></nav>
    <div id="list" data-x="1"><!-- a comment --><div class="wrap"><div class="card" data-id="1" style="color:red"><span><b>A</b></span></div></div>
    <svg><path d="M0"/></svg><div class="card" data-id="2">B</div></div>
    <footer><p class="empty">Nothing found here</p></footer></body></html>`

  test("keeps only the list, drops scripts, styles, svg and comments", () => {
    const result = cut(page, { keep: ["#list"] })
    expect(result.kept).toBe(1)
    expect(result.html).not.toContain("outside")
    expect(result.html).not.toContain("svg")
    expect(result.html).not.toContain("comment")
    expect(result.html).toContain('data-id="2"')
  })

  test("markers are seen anywhere on the page, with their text when asked", () => {
    const result = cut(page, {
      keep: ["#list"],
      markers: {
        empty: [{ selector: "p.empty", text: "NOTHING FOUND" }],
        blocked: [{ selector: "title", text: "captcha" }],
      },
    })
    expect([...result.markers]).toEqual(["empty"])
  })

  test("pruning keeps what selectors read and unwraps bare wrappers", async () => {
    const prune = pruneFor(["#list", ".card", "b"], ["data-id"])
    const result = cut(page, { keep: ["#list"], prune })
    expect(result.html).not.toContain("style=")
    expect(result.html).not.toContain("<span")
    expect(result.html).toContain("<b>A</b>")
    expect(await cards(result.html, "#list .card")).toEqual(["A", "B"])
  })

  test("only the class names selectors use are kept; elements left bare are unwrapped", async () => {
    const html = `<ul id="r"><li class="flat big promo-x"><div class="layout-a"><span class="price tag">9 €</span></div></li></ul>`
    const result = cut(html, { keep: ["#r"], prune: pruneFor(["#r", "li.flat", ".price"], []) })
    expect(result.html).toBe(`<ul id="r"><li class="flat"><span class="price">9 €</span></li></ul>`)
    const whole = cut(html, { keep: ["#r"], prune: pruneFor(['[class*="promo"]'], []) })
    expect(whole.html).toContain('class="flat big promo-x"')
  })

  test("a quoted attribute value holding > does not end the tag", () => {
    const html = `<ul id="r"><li class="c" title="a > b" data-id="1"><span class='x'>one</span></li><li class="c" data-id="2">two</li></ul>`
    const result = cut(html, { keep: ["#r"], prune: pruneFor(["#r", "li.c"], ["data-id"]) })
    expect(result.html).toBe(
      `<ul id="r"><li class="c" data-id="1">one</li><li class="c" data-id="2">two</li></ul>`,
    )
  })

  test("the kept parts are read from a body: selectors starting at body match", async () => {
    const result = cut(page, { keep: ["#list"], prune: pruneFor(["#list", ".card"], []) })
    expect(await cards(result.html, "body #list .card")).toEqual(["A", "B"])
  })

  test("indentation between tags is carried to the next text: no blank nodes, the same words and spaces", async () => {
    const html = `<ul id="r">\n  <li class="c">\n    <span class="p">1 €</span>\n    <span class="t">2&nbsp;Zi.</span>\n  </li>\n  <li class="c"><b>x</b> <i>y</i></li>\n</ul>`
    const result = cut(html, { keep: ["#r"], prune: pruneFor(["#r", "li.c", ".p", ".t"], []) })
    expect(result.html).not.toMatch(/>\s+</)
    expect(await cards(result.html, "li.c")).toEqual(["1 € 2\u00a0Zi.", "x y"])
    expect(await cards(result.html, ".t")).toEqual(["2\u00a0Zi."])
  })

  test("selectors that depend on structure switch pruning off", () => {
    expect(pruneFor(["ul > li"], [])).toBeUndefined()
    expect(pruneFor(["li:nth-child(2)"], [])).toBeUndefined()
    expect(pruneFor(["li:not(.promo)"], [])?.attributes.has("class")).toBe(true)
    expect(pruneFor(['a[href^="tel:"]'], [])?.attributes.has("href")).toBe(true)
  })

  test("nothing to keep: empty html and kept 0", () => {
    const result = cut(page, { keep: ["#nope"] })
    expect(result).toMatchObject({ html: "", kept: 0 })
  })

  test("a kept element that is never closed runs to the end", async () => {
    const result = cut("<div id=list><p class=c>one<p class=c>two", { keep: ["#list"] })
    expect(result.kept).toBe(1)
    expect(await cards(result.html, "p.c")).toEqual(["one", "two"])
  })
})

test("splitSelectorList ignores commas inside brackets and quotes", () => {
  expect(splitSelectorList(`a, b[title="x, y"], :not(c, d)`)).toEqual([
    `a`,
    `b[title="x, y"]`,
    `:not(c, d)`,
  ])
})

describe("withDocument", () => {
  type Closable = { closed: boolean }
  const windowOf = (html: string) =>
    Effect.runPromise(
      withDocument(html, (document) => {
        expect(document.querySelector("p")?.textContent).toBe(html.replace(/<\/?p>/g, ""))
        return document.ownerDocument.defaultView as unknown as Closable
      }),
    )

  test("one window for page after page, each page parsed on its own; closed on demand", async () => {
    const first = await windowOf("<p>one</p>")
    const second = await windowOf("<p>two</p>")
    expect(second).toBe(first)
    expect(first.closed).toBe(false)
    await closeIdleWindow()
    expect(first.closed).toBe(true)
    const third = await windowOf("<p>three</p>")
    expect(third).not.toBe(first)
    expect(third.closed).toBe(false)
    await closeIdleWindow()
  })

  test("closes the window when reading throws (never reused)", async () => {
    let window: Closable | null = null
    const exit = await Effect.runPromiseExit(
      withDocument("<p>x</p>", (document) => {
        window = document.ownerDocument.defaultView as unknown as Closable
        throw new Error("boom")
      }),
    )
    expect(exit._tag).toBe("Failure")
    expect((window as unknown as Closable).closed).toBe(true)
    expect(await windowOf("<p>after</p>")).not.toBe(window)
    await closeIdleWindow()
  })

  test("two pages at once: two windows; one is kept for the next page, the other closed", async () => {
    const windows = await Effect.runPromise(
      withDocument("<p>outer</p>", (outer) =>
        withDocument("<p>inner</p>", (inner) => [
          outer.ownerDocument.defaultView,
          inner.ownerDocument.defaultView,
        ]).pipe(Effect.runSync),
      ),
    )
    const [outer, inner] = windows as unknown as [Closable, Closable]
    expect(outer).not.toBe(inner)
    expect([outer.closed, inner.closed].sort()).toEqual([false, true])
    await closeIdleWindow()
    expect([outer.closed, inner.closed]).toEqual([true, true])
  })
})

test("collapsing indentation keeps entities and words intact", async () => {
  const page = `<ul id="r">\n      <li class="c">\n        Tom &amp;   Jerry&nbsp;&nbsp;  flat\n      </li>\n   </ul>`
  const result = cut(page, { keep: ["#r"] })
  expect(result.html).not.toContain("  ")
  expect(await cards(result.html, "li.c")).toEqual(["Tom & Jerry\u00a0\u00a0 flat"])
})
