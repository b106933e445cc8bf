import { describe, expect, test } from "bun:test"
import { assignedJson, endOfJsonValue, locateJson, scriptTexts } from "./JsonInPage.ts"
import { describeShared, sharedFixture } from "./SharedFixtures.ts"

const page = `<!doctype html><html><head>
<script>if (window.state == null) { var x = "}" }</script>
<script type="application/ld+json">{"@type":"Offer","price":1}</script>
<SCRIPT type="application/ld+json">{"@type":"Offer","price":2}</SCRIPT>
<script id="__NEXT_DATA__" type="application/json">{"props":{"items":[1,2,3]}}</script>
</head><body><div>window.state is set below</div>
<script>
  window.state = {"title":"a } brace and a \\" quote in a string","list":[{"a":"[x]"}],"path":"C:\\\\"};
  window.other = 1;
</script></body></html>`

describe("JSON in a page", () => {
  test("a script by selector: only its text is decoded", () => {
    expect(locateJson(page, { script: "script#__NEXT_DATA__" })).toEqual({
      ok: true,
      value: { props: { items: [1, 2, 3] } },
    })
  })

  test("every matching script, as an array (upper-case tags too)", () => {
    expect(locateJson(page, { script: 'script[type="application/ld+json"]', all: true })).toEqual({
      ok: true,
      value: [
        { "@type": "Offer", price: 1 },
        { "@type": "Offer", price: 2 },
      ],
    })
    expect(scriptTexts(page, 'script[type="application/ld+json"]', false)).toEqual([
      '{"@type":"Offer","price":1}',
    ])
  })

  test("a JavaScript assignment: comparisons and text mentions skipped, strings respected", () => {
    const found = locateJson(page, { assignment: "window.state" })
    expect(found).toEqual({
      ok: true,
      value: { title: 'a } brace and a " quote in a string', list: [{ a: "[x]" }], path: "C:\\" },
    })
  })

  test("the end of a value is found past brackets and escaped quotes in strings", () => {
    const text = 'x = {"a":"\\\\","b":"\\"}","c":[1,{"d":2}]}; tail'
    const start = text.indexOf("{")
    expect(text.slice(start, endOfJsonValue(text, start))).toBe(
      '{"a":"\\\\","b":"\\"}","c":[1,{"d":2}]}',
    )
    expect(endOfJsonValue('{"a": "never closed', 0)).toBe(-1)
  })

  test("what cannot be read is said, and nothing is run", () => {
    expect(assignedJson("<script>window.state = {a: 1};</script>", "window.state")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("window.state is not valid JSON"),
    })
    expect(assignedJson('<script>window.state = {"a": [1, 2', "window.state")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("never ends"),
    })
    expect(locateJson("<p>nothing</p>", { assignment: "window.state" })).toMatchObject({
      ok: false,
      reason: 'no "window.state = {...}" on the page',
    })
    expect(locateJson("<p>nothing</p>", { script: "script#__NEXT_DATA__" })).toMatchObject({
      ok: false,
      reason: "no script#__NEXT_DATA__ on the page",
    })
    expect(locateJson("<html>blocked</html>", "response")).toMatchObject({ ok: false })
    expect(locateJson('{"hits":[]}', "response")).toEqual({ ok: true, value: { hits: [] } })
  })

  test("a longer name that merely ends with the wanted one is not it", () => {
    const text = '<script>mywindow.state = {"no":1}; window.state = {"yes":1}</script>'
    expect(assignedJson(text, "window.state")).toEqual({ ok: true, value: { yes: 1 } })
  })
})

describeShared("JSON in the saved real pages", () => {
  test("Property Finder: __NEXT_DATA__ holds 30 entries", async () => {
    const html = await sharedFixture("propertyfinder/search_buy_uae_page1.html")
    const found = locateJson(html, { script: "script#__NEXT_DATA__" })
    if (!found.ok) throw new Error(found.reason)
    const value = found.value as {
      props: { pageProps: { searchResult: { listings: Array<unknown> } } }
    }
    expect(value.props.pageProps.searchResult.listings).toHaveLength(30)
  })

  test("Bayut: window.state holds the 24 Algolia hits", async () => {
    const html = await sharedFixture("bayut/search_rent_dubai_page1.html")
    const found = locateJson(html, { assignment: "window.state" })
    if (!found.ok) throw new Error(found.reason)
    const value = found.value as { algolia: { content: { hits: Array<{ externalID: string }> } } }
    expect(value.algolia.content.hits).toHaveLength(24)
    expect(value.algolia.content.hits[0]?.externalID).toBe("7566309")
  })
})
