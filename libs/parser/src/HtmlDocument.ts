import { Effect } from "effect"
import { type Element, Window } from "happy-dom"

/**
 * Turning a listing page into a DOM, fast and safely. A page goes through Bun's `HTMLRewriter`
 * (lol-html, streaming, a few ms for megabytes) first, which
 * - removes `<script>`, `<style>`, `<svg>` and other non-content elements and all comments
 *   (happy-dom loses the rest of a document after an inline script containing `i<3`),
 * - keeps only the elements named by `keep` (the result list) and drops everything around them,
 * - inside them, drops attributes nothing reads, unwraps the wrappers left bare and collapses
 *   runs of whitespace,
 * - and notes which markers (block page, "nothing found") it saw on the way.
 * What is left is parsed by happy-dom once, in a window kept between pages (see `withDocument`).
 */

/** An element that marks a kind of page: present, and (when `text` is set) containing `text`. */
export interface Marker {
  readonly selector: string
  /** Case-insensitive substring of the element's text. */
  readonly text?: string | undefined
}

export interface CutPlan {
  /** Selectors of the parts to keep (outermost matches); empty = keep the whole document. */
  readonly keep: ReadonlyArray<string>
  /** Elements removed with their content wherever they are (controls, duplicated text). */
  readonly drop?: ReadonlyArray<string> | undefined
  /** Named groups of markers; the result says which groups matched anywhere on the page. */
  readonly markers?: Readonly<Record<string, ReadonlyArray<Marker>>>
  /**
   * Inside kept parts, keep only these attributes (and unwrap elements left without any unless
   * their tag is in `tags`). Omit to keep every attribute and element.
   */
  readonly prune?:
    | {
        readonly attributes: ReadonlySet<string>
        readonly tags: ReadonlySet<string>
        /** Of `class`, keep only these names (absent: the whole attribute). */
        readonly classes?: ReadonlySet<string> | undefined
      }
    | undefined
}

export interface CutPage {
  /** HTML for happy-dom: the kept parts in a `<body>`, or the whole cleaned document. */
  readonly html: string
  /** How many kept parts were found (0 when `keep` matched nothing). */
  readonly kept: number
  /** The marker groups seen on the page. */
  readonly markers: ReadonlySet<string>
}

/** Never content, often huge, sometimes harmful to happy-dom's parser. */
const DROP = "script,style,svg,noscript,template,iframe,object,embed,canvas,link"
const START = "<!--fw:keep-->"
const END = "<!--fw:/keep-->"

/** Splits a selector list at top-level commas (not inside brackets, parentheses or quotes). */
export const splitSelectorList = (selector: string): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let quote: string | null = null
  let start = 0
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i]
    if (quote !== null) {
      if (c === "\\") i++
      else if (c === quote) quote = null
    } else if (c === '"' || c === "'") quote = c
    else if (c === "[" || c === "(") depth++
    else if (c === "]" || c === ")") depth--
    else if (c === "," && depth === 0) {
      parts.push(selector.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(selector.slice(start).trim())
  return parts.filter((p) => p.length > 0)
}

/** Throws (with lol-html's message) when HTMLRewriter cannot use `selector`. */
export const assertRewriterSelector = (selector: string): void => {
  new HTMLRewriter().on(selector, {}).transform("")
}

/**
 * What a set of CSS selectors (run by happy-dom on the kept parts) needs to survive pruning:
 * the attributes and tags they mention. `undefined` when a selector depends on document
 * structure (child/sibling combinators, structural pseudo-classes), which unwrapping would break.
 */
export const pruneFor = (
  selectors: ReadonlyArray<string>,
  attributes: ReadonlyArray<string>,
): CutPlan["prune"] => {
  const attrs = new Set(attributes.map((a) => a.toLowerCase()))
  const tags = new Set<string>()
  const classes = new Set<string>()
  let wholeClass = attrs.has("class")
  for (const selector of selectors) {
    // Strip quoted strings first so their contents are not read as syntax.
    const bare = selector.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    if (/[>+~]|:(?!not\()/.test(bare)) return undefined
    for (const m of bare.matchAll(/\[\s*([\w:-]+)/g)) {
      const name = m[1]?.toLowerCase()
      if (name === undefined) continue
      attrs.add(name)
      if (name === "class") wholeClass = true
    }
    for (const m of bare.matchAll(/\.([\w-]+)/g)) if (m[1]) classes.add(m[1])
    if (classes.size > 0) attrs.add("class")
    if (bare.includes("#")) attrs.add("id")
    for (const m of bare.matchAll(/(?:^|[\s(,])([a-zA-Z][\w-]*)/g)) {
      if (m[1]) tags.add(m[1].toLowerCase())
    }
  }
  return { attributes: attrs, tags, classes: wholeClass ? undefined : classes }
}

/** Elements that never have content or an end tag (never unwrapped by pruning). */
const VOID = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
])

/** A start or end tag (a quoted attribute value holding `>` is mended in `prunePart`). */
const TAG = /<(\/?)([a-zA-Z][^\s/>]*)([^>]*)>/g
/** One attribute inside a start tag: name, then an optional quoted or bare value. */
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g
/** Runs of ASCII whitespace (not U+00A0, which is text). */
const WHITESPACE = /[ \t\n\r\f]{2,}/g

type Prune = NonNullable<CutPlan["prune"]>

/** ASCII whitespace (not U+00A0, which is text). */
const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13 || c === 12

const blank = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false
  return true
}

/**
 * The index of the `>` ending the tag whose attributes start at `from`, past quoted values, or
 * -1 when there is none. As in HTML, a quote starts a value only right after `=` (a stray quote,
 * `target="_blank""` or `title=Peter's`, is just a character).
 */
const tagEnd = (html: string, from: number): number => {
  let quote = 0
  let afterEquals = false
  for (let i = from; i < html.length; i++) {
    const c = html.charCodeAt(i)
    if (quote !== 0) {
      if (c === quote) quote = 0
    } else if (c === 62) return i
    else if ((c === 34 || c === 39) && afterEquals) {
      quote = c
      afterEquals = false
    } else if (c === 61) afterEquals = true
    else if (!isSpace(c)) afterEquals = false
  }
  return -1
}

/**
 * Prunes one kept part (see `CutPlan.prune`), as text: JavaScript over the part is several times
 * cheaper than a callback per element from the rewriter. The part's own first tag (the kept
 * element) is left as it is; inside it, attributes nothing reads are dropped, `class` keeps only
 * the names selectors use, and an element left with no attribute (and not a tag a selector
 * names) is unwrapped: its tags go, its content stays. End tags are matched with a stack, as
 * the HTML was written (an element closed implicitly simply never finds its end tag).
 *
 * Whitespace-only text between tags (indentation: a third of a result list's nodes, each a full
 * DOM node to happy-dom) is carried forward, across the tags, to the start of the next text.
 * The text of the page in document order is unchanged, so every element's text keeps its
 * words and the spaces between them; only the whitespace at an element's ends may differ (as
 * if the page were indented differently), which reading fields trims anyway.
 */
const prunePart = (part: string, prune: Prune): string => {
  const out: Array<string> = []
  /** Open elements: the tag name, and whether its start tag was dropped. */
  const open: Array<{ readonly name: string; readonly unwrapped: boolean }> = []
  let at = 0
  let first = true
  /** Whitespace-only text met since the last text, carried forward to it (see above). */
  let carry = false
  TAG.lastIndex = 0
  for (let m = TAG.exec(part); m !== null; m = TAG.exec(part)) {
    if (m.index > at) {
      const text = part.slice(at, m.index)
      if (blank(text)) carry = true
      else {
        out.push(carry && !isSpace(text.charCodeAt(0)) ? ` ${text}` : text)
        carry = false
      }
    }
    let tag = m[0]
    let attributes = m[3] ?? ""
    if (attributes.includes('"') || attributes.includes("'")) {
      // A quoted value may hold `>`: read on to the `>` that really ends the tag.
      const nameEnd = m.index + 1 + (m[1]?.length ?? 0) + (m[2]?.length ?? 0)
      const end = tagEnd(part, nameEnd)
      // No end past the quotes (a value left open): the tag ends at its first `>`, as matched.
      if (end >= 0) {
        tag = part.slice(m.index, end + 1)
        attributes = part.slice(nameEnd, end)
        TAG.lastIndex = end + 1
      }
    }
    at = TAG.lastIndex
    const name = (m[2] ?? "").toLowerCase()
    if (m[1] === "/") {
      let i = open.length - 1
      while (i >= 0 && open[i]?.name !== name) i--
      if (i < 0) out.push(tag)
      else {
        const unwrapped = open[i]?.unwrapped ?? false
        open.length = i
        if (!unwrapped) out.push(tag)
      }
      continue
    }
    // HTML ignores `/>` on elements that can have content (svg and math are dropped already).
    const selfClosed = attributes.trimEnd().endsWith("/")
    const hasContent = !VOID.has(name)
    if (first) {
      first = false
      out.push(tag)
      if (hasContent) open.push({ name, unwrapped: false })
      continue
    }
    let kept = ""
    ATTRIBUTE.lastIndex = 0
    for (let a = ATTRIBUTE.exec(attributes); a !== null; a = ATTRIBUTE.exec(attributes)) {
      const attribute = (a[1] ?? "").toLowerCase()
      if (!prune.attributes.has(attribute)) continue
      if (attribute === "class" && prune.classes !== undefined) {
        const value = a[2] ?? a[3] ?? a[4] ?? ""
        const wanted = value.split(/\s+/).filter((c) => prune.classes?.has(c))
        if (wanted.length > 0) kept += ` class="${wanted.join(" ")}"`
      } else kept += ` ${a[0]}`
    }
    if (kept.length === 0 && hasContent && !prune.tags.has(name)) {
      open.push({ name, unwrapped: true })
      continue
    }
    out.push(`<${m[2]}${kept}${selfClosed ? " /" : ""}>`)
    if (hasContent) open.push({ name, unwrapped: false })
  }
  const rest = part.slice(at)
  if (carry && (rest.length === 0 || !isSpace(rest.charCodeAt(0)))) out.push(" ")
  out.push(rest)
  return out.join("")
}

/**
 * Cuts a page down to what the parser reads (see the module comment). Pure and synchronous.
 *
 * Where the time goes (measured on the saved Kleinanzeigen and DOM.RIA pages): a rewriter
 * callback per element inside the kept parts cost more than everything else in the cut, so the
 * rewriter only removes non-content elements and comments and marks where the kept parts start
 * and end; pruning and whitespace are then done on the kept text (`prunePart`).
 */
export const cut = (html: string, plan: CutPlan): CutPage => {
  const seen = new Set<string>()
  const rewriter = new HTMLRewriter().on(DROP, {
    element(el) {
      el.remove()
    },
  })
  // With parts to keep, what is outside them is thrown away anyway: only comments inside them
  // need a callback.
  if (plan.keep.length === 0) {
    rewriter.onDocument({
      comments(comment) {
        comment.remove()
      },
    })
  }
  if (plan.drop !== undefined && plan.drop.length > 0) {
    rewriter.on(plan.drop.join(","), {
      element(el) {
        el.remove()
      },
    })
  }

  for (const [group, markers] of Object.entries(plan.markers ?? {})) {
    for (const marker of markers) {
      const needle = marker.text?.toLowerCase()
      let text = ""
      rewriter.on(marker.selector, {
        element(el) {
          if (needle === undefined) seen.add(group)
          else if (el.canHaveContent) {
            text = ""
            el.onEndTag(() => {
              if (text.toLowerCase().includes(needle)) seen.add(group)
            })
          }
        },
        text(chunk) {
          if (needle !== undefined) {
            text += chunk.text
            // Text of elements closed implicitly never reaches an end tag: check as it comes.
            if (text.toLowerCase().includes(needle)) seen.add(group)
          }
        },
      })
    }
  }

  if (plan.keep.length === 0) {
    return { html: rewriter.transform(html).replace(WHITESPACE, " "), kept: 0, markers: seen }
  }

  let depth = 0
  rewriter.on(plan.keep.join(","), {
    comments(comment) {
      comment.remove()
    },
    element(el) {
      if (!el.canHaveContent) {
        if (depth === 0) {
          el.before(START, { html: true })
          el.after(END, { html: true })
        }
        return
      }
      if (depth++ === 0) el.before(START, { html: true })
      el.onEndTag((tag) => {
        if (--depth === 0) tag.after(END, { html: true })
      })
    },
  })

  const out = rewriter.transform(html)
  const prune = plan.prune
  const parts: Array<string> = []
  let at = 0
  for (;;) {
    const start = out.indexOf(START, at)
    if (start < 0) break
    const end = out.indexOf(END, start)
    // An element never closed runs to the end of the document.
    // Indentation is most of some pages' text: every byte of it is work for happy-dom's parser.
    const part = out.slice(start + START.length, end < 0 ? undefined : end).replace(WHITESPACE, " ")
    parts.push(prune === undefined ? part : prunePart(part, prune))
    if (end < 0) break
    at = end + END.length
  }
  return { html: parts.join(""), kept: parts.length, markers: seen }
}

const WINDOW_SETTINGS = {
  disableJavaScriptEvaluation: true,
  disableJavaScriptFileLoading: true,
  disableCSSFileLoading: true,
  disableIframePageLoading: true,
  disableComputedStyleRendering: true,
  handleDisabledFileLoadingAsSuccess: true,
  navigation: {
    disableMainFrameNavigation: true,
    disableChildFrameNavigation: true,
    disableChildPageNavigation: true,
    disableFallbackToSetURL: true,
  },
} as const

/** A window unused this long is closed (the next page opens a new one). */
const IDLE_CLOSE_MS = 10_000
/** A window is retired after this many pages, so nothing it keeps can pile up. */
const MAX_PAGES_PER_WINDOW = 500

interface Pooled {
  readonly window: Window
  pages: number
}

/** The one idle window kept between pages, and the timer that closes it. */
let idle: Pooled | undefined
let idleTimer: ReturnType<typeof setTimeout> | undefined

const closeWindow = (window: Window): Promise<void> => window.happyDOM.close()

const takeWindow = (): Pooled => {
  if (idleTimer !== undefined) clearTimeout(idleTimer)
  idleTimer = undefined
  const taken = idle ?? { window: new Window({ settings: WINDOW_SETTINGS }), pages: 0 }
  idle = undefined
  taken.pages++
  return taken
}

/** Keeps `pooled` for the next page, or says it must be closed now (`false`). */
const keepWindow = (pooled: Pooled): boolean => {
  if (idle !== undefined || pooled.pages >= MAX_PAGES_PER_WINDOW) return false
  idle = pooled
  idleTimer = setTimeout(() => void closeIdleWindow(), IDLE_CLOSE_MS)
  // An idle parser window must never keep the process alive.
  idleTimer.unref?.()
  return true
}

/**
 * Closes the window kept for the next page, if any (it also closes by itself after 10 s unused).
 * For shutdown paths and tests; parsing afterwards simply opens a new one.
 */
export const closeIdleWindow = async (): Promise<void> => {
  if (idleTimer !== undefined) clearTimeout(idleTimer)
  idleTimer = undefined
  const pooled = idle
  idle = undefined
  if (pooled !== undefined) await closeWindow(pooled.window)
}

/**
 * Parses `html` with happy-dom, once, and gives `use` the parsed content: a `<body>` element of
 * its own, not attached to any document, which `use` queries with selectors
 * (`root.querySelectorAll(...)`; selectors starting at `body` match too). `html` should already
 * be cut (scripts stripped, see `cut`).
 *
 * A happy-dom window costs about as much to open and close as parsing a cut-down result page,
 * so one window is kept between pages; each page is parsed into a detached element (cheaper
 * than a new document, and nothing of it stays in the window once `use` returns). The window
 * is closed after 10 s unused, after 500 pages, when `use` throws, or when two pages are parsed
 * at once (one of the two). An unclosed happy-dom window per page keeps its memory (gigabytes
 * over a day); this keeps at most one (`bench/parser-memory.bench.ts` checks that memory stays
 * flat).
 */
export const withDocument = <A>(html: string, use: (root: Element) => A): Effect.Effect<A> =>
  Effect.acquireUseRelease(
    Effect.sync(takeWindow),
    (pooled) =>
      Effect.sync(() => {
        const root = pooled.window.document.createElement("body")
        root.innerHTML = html
        return use(root)
      }),
    (pooled, exit) =>
      exit._tag === "Success" && keepWindow(pooled)
        ? Effect.void
        : Effect.tryPromise(() => closeWindow(pooled.window)).pipe(
            Effect.catchAll((cause) =>
              Effect.logWarning("closing a happy-dom window failed", cause),
            ),
          ),
  )
