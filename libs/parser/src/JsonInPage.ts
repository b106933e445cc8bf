/**
 * Finding the JSON a web page carries for its own scripts, and decoding only that, never running
 * the page's JavaScript:
 * - a `<script>` element chosen by a CSS selector (`script#__NEXT_DATA__`,
 *   `script[type="application/ld+json"]`): its text is parsed as JSON;
 * - a JavaScript assignment (`window.state = {...};`): the object literal after `=` is found by
 *   scanning for its matching end (strings and escapes respected), and that slice alone goes to
 *   `JSON.parse`. A literal that is not JSON (unquoted keys, `undefined`) is reported, not run.
 */

/** Where a page keeps its JSON. `response` = the whole answer is JSON (an API endpoint). */
export type JsonLocator =
  | { readonly script: string; readonly all?: boolean | undefined }
  | { readonly assignment: string }
  | "response"

export type Located =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: string }

const notFound = (reason: string): Located => ({ ok: false, reason })

const parseJson = (text: string, what: string): Located => {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (error) {
    return notFound(
      `${what} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    )
  }
}

// Bounded: an unclosed `<script` must not make the scan quadratic on a hostile page.
const SCRIPT_TAG = /<script\b[^<>]{0,4096}>/gi
const SCRIPT_END = /<\/script/gi

/**
 * The texts of the `<script>` elements matching `selector`. The selector is matched against the
 * opening tags alone (tag, id, classes, attributes; not the element's place in the page): the
 * tags are collected with one regular-expression pass and only they go through Bun's
 * HTMLRewriter, so a megabyte page costs about a millisecond. A script's text runs to the first
 * `</script`, as in a browser.
 */
export const scriptTexts = (html: string, selector: string, all: boolean): Array<string> => {
  const tags: Array<{ readonly end: number; readonly tag: string }> = []
  for (const match of html.matchAll(SCRIPT_TAG)) {
    tags.push({ end: match.index + match[0].length, tag: match[0] })
  }
  if (tags.length === 0) return []
  const mini = tags
    .map((t, i) => `${t.tag.slice(0, -1).replace(/\/$/, "")} data-fw-script="${i}"></script>`)
    .join("")
  const picked: Array<number> = []
  new HTMLRewriter()
    .on(selector, {
      element(el) {
        const i = Number(el.getAttribute("data-fw-script"))
        if (Number.isInteger(i) && (all || picked.length === 0)) picked.push(i)
      },
    })
    .transform(mini)
  return picked.map((i) => {
    const start = (tags[i] as { end: number }).end
    SCRIPT_END.lastIndex = start
    const close = SCRIPT_END.exec(html)
    return html.slice(start, close === null ? undefined : close.index)
  })
}

const OPEN = new Set([123, 91]) // { [

/**
 * The index just after the JSON value (object or array) starting at `start`, found by counting
 * brackets outside strings; -1 when it never ends.
 */
export const endOfJsonValue = (text: string, start: number): number => {
  let depth = 0
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      let j = i
      for (;;) {
        j = text.indexOf('"', j + 1)
        if (j < 0) return -1
        let slashes = 0
        while (text.charCodeAt(j - 1 - slashes) === 92 /* \ */) slashes++
        if (slashes % 2 === 0) break
      }
      i = j
    } else if (c === 123 || c === 91) depth++
    else if (c === 125 || c === 93) {
      depth--
      if (depth === 0) return i + 1
    }
  }
  return -1
}

const isIdentChar = (code: number): boolean =>
  (code >= 48 && code <= 57) ||
  (code >= 65 && code <= 90) ||
  (code >= 97 && code <= 122) ||
  code === 95 ||
  code === 36 ||
  code === 46

/** The JSON assigned to `name` (`window.state = {...}`) somewhere in `text`. */
export const assignedJson = (text: string, name: string): Located => {
  let from = 0
  for (;;) {
    const at = text.indexOf(name, from)
    if (at < 0) return notFound(`no "${name} = {...}" on the page`)
    from = at + name.length
    if (at > 0 && isIdentChar(text.charCodeAt(at - 1))) continue
    let i = from
    while (i < text.length && /\s/.test(text[i] as string)) i++
    // `=` but not `==`/`=>`
    if (text[i] !== "=" || text[i + 1] === "=" || text[i + 1] === ">") continue
    i++
    while (i < text.length && /\s/.test(text[i] as string)) i++
    if (!OPEN.has(text.charCodeAt(i))) continue
    const end = endOfJsonValue(text, i)
    if (end < 0) return notFound(`the value of ${name} never ends (the page is cut short?)`)
    return parseJson(text.slice(i, end), name)
  }
}

/** Finds and decodes the JSON a locator names in a page (or answer). */
export const locateJson = (body: string, locator: JsonLocator): Located => {
  if (locator === "response") return parseJson(body, "the answer")
  if ("assignment" in locator) return assignedJson(body, locator.assignment)
  const all = locator.all === true
  const texts = scriptTexts(body, locator.script, all)
  if (texts.length === 0) return notFound(`no ${locator.script} on the page`)
  if (!all) return parseJson(texts[0] as string, locator.script)
  const values: Array<unknown> = []
  for (const [i, text] of texts.entries()) {
    const one = parseJson(text, `${locator.script} #${i + 1}`)
    if (!one.ok) return one
    values.push(one.value)
  }
  return { ok: true, value: values }
}
