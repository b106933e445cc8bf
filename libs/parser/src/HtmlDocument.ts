import { Effect } from "effect"
import { type Document, Window } from "happy-dom"

/**
 * Turning a listing page into a DOM, fast and safely. A page goes through Bun's `HTMLRewriter`
 * (lol-html, streaming, a few ms for megabytes) first, which
 * - removes `<script>`, `<style>`, `<svg>` and other non-content elements and all comments
 *   (happy-dom loses the rest of a document after an inline script containing `i<3`),
 * - keeps only the elements named by `keep` (the result list) and drops everything around them,
 * - inside them, drops attributes nothing reads, unwraps the wrappers left bare and collapses
 *   runs of whitespace,
 * - and notes which markers (block page, "nothing found") it saw on the way.
 * What is left is parsed by happy-dom once; the window is closed afterwards, always.
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

/** Cuts a page down to what the parser reads (see the module comment). Pure and synchronous. */
export const cut = (html: string, plan: CutPlan): CutPage => {
  const seen = new Set<string>()
  const rewriter = new HTMLRewriter()
    .on(DROP, {
      element(el) {
        el.remove()
      },
    })
    .onDocument({
      comments(comment) {
        comment.remove()
      },
    })
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

  let depth = 0
  if (plan.keep.length > 0) {
    rewriter.on(plan.keep.join(","), {
      // Indentation is most of some pages' text, and every run of it is a DOM node to happy-dom.
      text(chunk) {
        if (/\s\s/.test(chunk.text)) chunk.replace(chunk.text.replace(/\s+/g, " "), { html: true })
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
    const prune = plan.prune
    if (prune !== undefined) {
      const inside = plan.keep.flatMap(splitSelectorList).map((s) => `${s} *`)
      rewriter.on(inside.join(","), {
        element(el) {
          // Read all attributes first: changing them while iterating ends the iteration.
          const drop: Array<string> = []
          let classes: string | null = null
          let kept = 0
          for (const [name, value] of [...el.attributes]) {
            if (!prune.attributes.has(name)) drop.push(name)
            else if (name === "class" && prune.classes !== undefined) {
              const wanted = value.split(/\s+/).filter((c) => prune.classes?.has(c))
              if (wanted.length === 0) drop.push(name)
              else {
                classes = wanted.join(" ")
                kept++
              }
            } else kept++
          }
          for (const name of drop) el.removeAttribute(name)
          if (classes !== null) el.setAttribute("class", classes)
          // A bare wrapper adds nothing a selector reads; its text stays in place.
          if (kept === 0 && el.canHaveContent && !prune.tags.has(el.tagName)) {
            el.removeAndKeepContent()
          }
        },
      })
    }
  }

  const out = rewriter.transform(html)
  if (plan.keep.length === 0) return { html: out, kept: 0, markers: seen }

  const parts: Array<string> = []
  let at = 0
  for (;;) {
    const start = out.indexOf(START, at)
    if (start < 0) break
    const end = out.indexOf(END, start)
    // An element never closed runs to the end of the document.
    parts.push(out.slice(start + START.length, end < 0 ? undefined : end))
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

/**
 * Parses `html` with happy-dom, once, and gives the document to `use`. The window is closed when
 * `use` returns or throws (an unclosed happy-dom window keeps its memory: gigabytes over a day).
 * `html` should already be cut (scripts stripped, see `cut`).
 */
export const withDocument = <A>(html: string, use: (document: Document) => A): Effect.Effect<A> =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Window({ settings: WINDOW_SETTINGS })),
    (window) =>
      Effect.sync(() => {
        window.document.body.innerHTML = html
        return use(window.document)
      }),
    (window) =>
      Effect.tryPromise(() => window.happyDOM.close()).pipe(
        Effect.catchAll((cause) => Effect.logWarning("closing a happy-dom window failed", cause)),
      ),
  )
