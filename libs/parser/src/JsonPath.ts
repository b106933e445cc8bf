/**
 * A small path language for reading values out of JSON (the cards of a JSON source and their
 * fields). Deliberately a subset of JSONPath, written plainly, without `$` and `@`:
 *
 * - `props.pageProps.searchResult` dotted keys (a leading `$.` is allowed and ignored)
 * - `images[0]` an array index (negative counts from the end: `[-1]` is the last)
 * - `listings[*]` (or `listings[]`) every element of an array (every value of an object)
 * - `actions[?type=X]` the elements whose `type` is `X` (`!=` for "is not"; `X` may be quoted:
 *   `[?type='for rent']`; a value compares equal when its text is `X`, so `[?rooms=2]` matches
 *   2 and "2"); `[?type]` the elements that have a non-null `type`. On an object that is not an
 *   array the filter keeps or drops the object itself (`size[?unit=sqft].value`).
 * - `name.en` a language sub-key is just a key
 * - `["a key.with dots"]` a key with any characters
 *
 * A path is compiled once (`compileJsonPath`, which throws a `JsonPathError` naming the position
 * of a mistake) and then applied to many values; applying never throws: what is missing yields
 * no value.
 */

export class JsonPathError extends Error {
  readonly _tag = "JsonPathError"
}

type Step =
  | { readonly _tag: "key"; readonly key: string }
  | { readonly _tag: "index"; readonly index: number }
  | { readonly _tag: "all" }
  | {
      readonly _tag: "filter"
      readonly key: ReadonlyArray<string>
      readonly op: "=" | "!=" | "exists"
      readonly value: string
    }

export interface JsonPath {
  /** The path as written. */
  readonly source: string
  /** Every value the path reaches (in document order); `undefined` and missing keys left out. */
  readonly all: (value: unknown) => Array<unknown>
  /** The first value the path reaches that is not null, or `undefined`. */
  readonly first: (value: unknown) => unknown
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null

const IDENT = /[A-Za-z0-9_$@:-]/

const fail = (path: string, at: number, message: string): never => {
  throw new JsonPathError(`${message} at position ${at + 1} of "${path}"`)
}

/** Reads a quoted string starting at `i` (the quote); returns the text and the index after it. */
const quoted = (path: string, i: number): [string, number] => {
  const quote = path[i]
  let text = ""
  let j = i + 1
  for (; j < path.length; j++) {
    const c = path[j]
    if (c === "\\" && j + 1 < path.length) {
      text += path[++j]
      continue
    }
    if (c === quote) return [text, j + 1]
    text += c
  }
  return fail(path, i, "unterminated quote")
}

const parseFilter = (path: string, body: string, at: number): Step => {
  const match = /^\s*([A-Za-z0-9_$@.:-]+)\s*(?:(!=|=)\s*(.*?))?\s*$/s.exec(body)
  if (match === null || match[1] === undefined) {
    return fail(path, at, "a filter is [?field=value], [?field!=value] or [?field]")
  }
  const key = match[1].split(".")
  if (match[2] === undefined) return { _tag: "filter", key, op: "exists", value: "" }
  let value = match[3] ?? ""
  if (/^(['"]).*\1$/s.test(value)) value = value.slice(1, -1)
  return { _tag: "filter", key, op: match[2] === "=" ? "=" : "!=", value }
}

const parse = (path: string): Array<Step> => {
  const steps: Array<Step> = []
  let i = 0
  const src = path.trim()
  if (src.length === 0) fail(path, 0, "an empty path")
  if (src.startsWith("$")) i = src[1] === "." ? 2 : 1
  let expectKey = true
  while (i < src.length) {
    const c = src[i] as string
    if (c === ".") {
      if (expectKey) fail(path, i, "an empty key")
      expectKey = true
      i++
      continue
    }
    if (c === "[") {
      const close = findClose(src, i)
      const inner = src.slice(i + 1, close).trim()
      if (inner === "" || inner === "*") steps.push({ _tag: "all" })
      else if (/^-?\d+$/.test(inner)) steps.push({ _tag: "index", index: Number(inner) })
      else if (inner.startsWith("?")) steps.push(parseFilter(path, inner.slice(1), i))
      else if (inner.startsWith('"') || inner.startsWith("'")) {
        const [key, end] = quoted(inner, 0)
        if (end !== inner.length) fail(path, i, "text after a quoted key")
        steps.push({ _tag: "key", key })
      } else fail(path, i, `"[${inner}]" is not an index, [*], a filter or a quoted key`)
      i = close + 1
      expectKey = false
      continue
    }
    if (!expectKey) fail(path, i, `"${c}" where "." or "[" was expected`)
    let j = i
    while (j < src.length && IDENT.test(src[j] as string)) j++
    if (j === i) fail(path, i, `unexpected "${c}"`)
    steps.push({ _tag: "key", key: src.slice(i, j) })
    i = j
    expectKey = false
  }
  if (expectKey && steps.length > 0) fail(path, src.length - 1, "a path ending in '.'")
  return steps
}

/** The index of the `]` closing the `[` at `open`, skipping quoted text. */
const findClose = (src: string, open: number): number => {
  let quote: string | null = null
  for (let j = open + 1; j < src.length; j++) {
    const c = src[j]
    if (quote !== null) {
      if (c === "\\") j++
      else if (c === quote) quote = null
    } else if (c === '"' || c === "'") quote = c
    else if (c === "]") return j
  }
  return fail(src, open, "an unclosed '['")
}

const readKey = (value: unknown, keys: ReadonlyArray<string>): unknown => {
  let current = value
  for (const key of keys) {
    if (!isRecord(current)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

const text = (value: unknown): string | null =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : null

const keeps = (step: Extract<Step, { _tag: "filter" }>, value: unknown): boolean => {
  const field = readKey(value, step.key)
  if (step.op === "exists") return field !== null && field !== undefined
  const equal = text(field) === step.value
  return step.op === "=" ? equal : !equal
}

const apply = (steps: ReadonlyArray<Step>, root: unknown): Array<unknown> => {
  let current: Array<unknown> = [root]
  for (const step of steps) {
    const next: Array<unknown> = []
    for (const value of current) {
      switch (step._tag) {
        case "key":
          if (isRecord(value) && !Array.isArray(value)) {
            const v = value[step.key]
            if (v !== undefined) next.push(v)
          }
          break
        case "index":
          if (Array.isArray(value)) {
            const v: unknown = value[step.index < 0 ? value.length + step.index : step.index]
            if (v !== undefined) next.push(v)
          }
          break
        case "all":
          if (Array.isArray(value)) next.push(...value)
          else if (isRecord(value)) next.push(...Object.values(value))
          break
        case "filter":
          if (Array.isArray(value)) {
            for (const v of value) if (keeps(step, v)) next.push(v)
          } else if (isRecord(value) && keeps(step, value)) next.push(value)
          break
      }
    }
    current = next
    if (current.length === 0) break
  }
  return current
}

/** Compiles a path (see the module comment); throws `JsonPathError` on a mistake. */
export const compileJsonPath = (path: string): JsonPath => {
  const steps = parse(path)
  return {
    source: path,
    all: (value) => apply(steps, value),
    first: (value) => apply(steps, value).find((v) => v !== null),
  }
}

/** The problem with a path, or null when it compiles (for config validation). */
export const jsonPathProblem = (path: string): string | null => {
  try {
    compileJsonPath(path)
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}
