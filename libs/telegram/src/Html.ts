/**
 * Building Telegram HTML (`parse_mode: "HTML"`) safely: escaping scraped or user text, cutting it
 * at a word boundary, and measuring what Telegram counts against its limits (the text after
 * entity parsing, in UTF-16 code units). Used by the listing renderers and the bot.
 */

/** Telegram's limit for a photo caption, counted after entity parsing. */
export const CAPTION_LIMIT = 1024
/** Telegram's limit for a text message, counted after entity parsing. */
export const TEXT_LIMIT = 4096

const ELLIPSIS = "…"

/**
 * Escapes text for Telegram HTML. `&`, `<` and `>` must be escaped everywhere; `"` too so the
 * result is also safe inside an attribute value (`<a href="...">`).
 */
// biome-ignore lint/suspicious/noShadowRestrictedNames: read as `Html.escape`; the legacy global is never wanted
export const escape = (text: string): string =>
  text.replace(/[&<>"]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
  )

// C0/C1 controls except tab and newline, zero-width and bidi controls, lone surrogates: none of
// them is ever meant to be shown, and some make Telegram reject the text.
const INVISIBLE = new RegExp(
  "[\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u200B\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uFEFF]" +
    "|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]",
  "g",
)

/**
 * Normalises scraped text: drops invisible characters, collapses runs of spaces and tabs, and
 * trims. With `paragraphs`, line breaks are kept (at most one blank line in a row); without,
 * every run of whitespace becomes one space.
 */
export const clean = (text: string, options: { readonly paragraphs?: boolean } = {}): string => {
  const visible = text.replace(/\r\n?/g, "\n").replace(INVISIBLE, "")
  if (options.paragraphs !== true) return visible.replace(/\s+/g, " ").trim()
  return visible
    .split("\n")
    .map((line) => line.replace(/[^\S\n]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

/**
 * Cuts plain text to at most `max` UTF-16 code units. When it is cut, the cut falls at the last
 * word boundary (unless that would lose more than a third of the room, as with one enormous
 * word), trailing punctuation is dropped and `…` is appended, all within `max`. Never splits a
 * surrogate pair. Escape the result afterwards: escaping does not change the visible length.
 */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text
  if (max <= 0) return ""
  if (max === 1) return ELLIPSIS
  let end = max - 1 // room for the ellipsis
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1
  const head = text.slice(0, end)
  // A boundary is a space before the next character (the cut word is dropped whole).
  const nextIsSpace = /\s/.test(text.charAt(end))
  let cut = nextIsSpace ? end : head.search(/\s\S*$/)
  if (cut < Math.ceil((max * 2) / 3)) cut = end
  const kept = head
    .slice(0, cut)
    .replace(/[\s,;:.\-–—(/]+$/u, "")
    .trimEnd()
  return `${kept.length > 0 ? kept : head}${ELLIPSIS}`
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' }

const decodeEntity = (entity: string): string | undefined => {
  const named = NAMED[entity.toLowerCase()]
  if (named !== undefined) return named
  const numeric = /^#(?:x([0-9a-f]{1,6})|([0-9]{1,7}))$/i.exec(entity)
  if (numeric === null) return undefined
  const code = numeric[1] !== undefined ? Number.parseInt(numeric[1], 16) : Number(numeric[2])
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : undefined
}

/**
 * The text of Telegram HTML as the user sees it: tags dropped, the entities Telegram knows
 * (`&lt;` `&gt;` `&amp;` `&quot;` and numeric ones) decoded, any other `&` kept as is. This is
 * also the plain-text fallback when Telegram cannot parse a message's HTML.
 */
export const toPlainText = (html: string): string =>
  html
    .replace(/<\/?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?>/g, "")
    .replace(/&(#?[a-zA-Z0-9]+);/g, (all, entity: string) => decodeEntity(entity) ?? all)

/** What Telegram counts against its limits: the length of `toPlainText`, in UTF-16 units. */
export const visibleLength = (html: string): number => toPlainText(html).length

/** True for the URLs Telegram accepts in links and inline buttons (http, https, tg). */
export const isLinkable = (url: string): boolean => {
  try {
    const { protocol } = new URL(url)
    return protocol === "http:" || protocol === "https:" || protocol === "tg:"
  } catch {
    return false
  }
}

/** `<a href="url">label</a>`, both escaped; only the escaped label when the URL is unusable. */
export const link = (url: string, label: string): string =>
  isLinkable(url) ? `<a href="${escape(url)}">${escape(label)}</a>` : escape(label)

/** `<b>text</b>` with the text escaped. */
export const bold = (text: string): string => `<b>${escape(text)}</b>`

/** `<i>text</i>` with the text escaped. */
export const italic = (text: string): string => `<i>${escape(text)}</i>`
