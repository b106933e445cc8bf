/**
 * Formatting for the user's language: numbers and prices (`12 500 AED` in Russian, `AED 12,500`
 * in English), dates (always shown in UTC, and saying so), and HTML escaping for Telegram.
 */

export type Language = "ru" | "en"

/** Russian when Telegram says `ru` (or `ru-RU`), English for everything else. */
export const languageFromTelegram = (code: string | undefined): Language =>
  code !== undefined && /^ru(?:-|$)/i.test(code) ? "ru" : "en"

const numberFormats: Record<Language, Intl.NumberFormat> = {
  ru: new Intl.NumberFormat("ru-RU", { maximumFractionDigits: 0 }),
  en: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
}

const dateFormats: Record<Language, Intl.DateTimeFormat> = {
  ru: new Intl.DateTimeFormat("ru-RU", {
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  }),
  en: new Intl.DateTimeFormat("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  }),
}

/** `12 500` (non-breaking space) in Russian, `12,500` in English. */
export const formatNumber = (lang: Language, n: number): string => numberFormats[lang].format(n)

/** `12 500 AED` in Russian, `AED 12,500` in English (non-breaking spaces, so it never wraps). */
export const formatPrice = (lang: Language, amount: number, currency: string): string =>
  lang === "ru"
    ? `${formatNumber(lang, amount)}\u00a0${currency}`
    : `${currency}\u00a0${formatNumber(lang, amount)}`

/** `5 December 2026, 14:30 UTC` / `5 декабря 2026 г. в 14:30 UTC`. */
export const formatDate = (lang: Language, date: Date): string =>
  `${dateFormats[lang].format(date)} UTC`

const pluralRules: Record<Language, Intl.PluralRules> = {
  ru: new Intl.PluralRules("ru-RU"),
  en: new Intl.PluralRules("en-US"),
}

/** Picks the plural form for `n`: `one`, `few`, `many` (Russian) or `one`, `other` (English). */
export const plural = (
  lang: Language,
  n: number,
  forms: {
    readonly one: string
    readonly few?: string
    readonly many?: string
    readonly other: string
  },
): string => {
  const rule = pluralRules[lang].select(n)
  return (
    (rule === "one"
      ? forms.one
      : rule === "few"
        ? forms.few
        : rule === "many"
          ? forms.many
          : undefined) ?? forms.other
  )
}

/** Escapes text for Telegram HTML (`parse_mode: "HTML"`). */
export const escapeHtml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * Cuts text from a user or a site so that, escaped (`escapeHtml`, which makes `&` five
 * characters), it takes at most `max` characters; a cut text ends with `…`. It never cuts a
 * character in half (an emoji is two UTF-16 units): Telegram refuses text that is not valid
 * UTF-8, and text over its length limits.
 */
export const truncate = (text: string, max: number): string => {
  if (escapeHtml(text).length <= max) return text
  let kept = ""
  let size = 1 // the ellipsis
  for (const char of text) {
    const width = escapeHtml(char).length
    if (size + width > max) break
    kept += char
    size += width
  }
  return `${kept}…`
}
