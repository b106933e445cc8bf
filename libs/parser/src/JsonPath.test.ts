import { describe, expect, test } from "bun:test"
import { compileJsonPath, JsonPathError, jsonPathProblem } from "./JsonPath.ts"

const doc = {
  props: {
    listings: [
      { type: "property", id: 1, name: { en: "One", ar: "واحد" }, tags: ["a", "b"] },
      { type: "project", id: 2, name: { en: "Two" }, tags: [] },
      { type: "property", id: "3", name: { en: "Three" }, size: { unit: "sqft", value: 100 } },
    ],
    meta: { page: 1, "odd.key": "dotted", nothing: null },
  },
}
const all = (path: string) => compileJsonPath(path).all(doc)
const first = (path: string) => compileJsonPath(path).first(doc)

describe("the path language", () => {
  test("dotted keys, a leading $ and a language sub-key", () => {
    expect(first("props.meta.page")).toBe(1)
    expect(first("$.props.meta.page")).toBe(1)
    expect(first("props.listings[0].name.en")).toBe("One")
    expect(first("props.listings[0].name.ar")).toBe("واحد")
  })

  test("array indexes, negative from the end", () => {
    expect(first("props.listings[2].id")).toBe("3")
    expect(first("props.listings[-1].id")).toBe("3")
    expect(first("props.listings[9].id")).toBeUndefined()
  })

  test("[*] and [] take every element, in order", () => {
    expect(all("props.listings[*].id")).toEqual([1, 2, "3"])
    expect(all("props.listings[].name.en")).toEqual(["One", "Two", "Three"])
    expect(all("props.listings[*].tags[*]")).toEqual(["a", "b"])
    expect(all("props.meta[*]")).toEqual([1, "dotted", null])
  })

  test("a filter by a field's value, its negation, and presence", () => {
    expect(all("props.listings[?type=property].id")).toEqual([1, "3"])
    expect(all("props.listings[?type!=property].id")).toEqual([2])
    expect(all("props.listings[?type='project'].name.en")).toEqual(["Two"])
    expect(all("props.listings[?id=3].name.en")).toEqual(["Three"])
    expect(all("props.listings[?size].id")).toEqual(["3"])
    expect(all("props.listings[?size.unit=sqft].size.value")).toEqual([100])
  })

  test("a filter on an object keeps or drops the object itself", () => {
    expect(first("props.listings[2].size[?unit=sqft].value")).toBe(100)
    expect(first("props.listings[2].size[?unit=sqm].value")).toBeUndefined()
  })

  test("a quoted key with dots; null is reached but not first", () => {
    expect(first('props.meta["odd.key"]')).toBe("dotted")
    expect(all("props.meta.nothing")).toEqual([null])
    expect(first("props.meta.nothing")).toBeUndefined()
  })

  test("missing keys and wrong kinds give nothing, never an exception", () => {
    expect(all("props.missing.deeper")).toEqual([])
    expect(all("props.meta.page.x")).toEqual([])
    expect(all("props.meta[0]")).toEqual([])
    expect(compileJsonPath("a.b").all(null)).toEqual([])
    expect(compileJsonPath("a[*]").all("text")).toEqual([])
  })

  test.each([
    ["", "an empty path"],
    ["a..b", "an empty key"],
    ["a.", "ending in '.'"],
    ["a[", "unclosed '['"],
    ["a[x]", "is not an index"],
    ["a[?=1]", "a filter is"],
    ["a b", 'where "." or "[" was expected'],
    ['a["b]', "unclosed"],
  ])("the mistake in %p is named: %p", (path, message) => {
    expect(() => compileJsonPath(path)).toThrow(JsonPathError)
    expect(jsonPathProblem(path)).toContain(message)
  })
})
