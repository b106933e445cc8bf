/**
 * Formatting for the user's language: numbers (`12 500` in Russian, `12,500` in English), dates
 * (always shown in UTC, and saying so) and plural forms. Prices, HTML escaping and cutting text
 * to Telegram's limits come from `@flatwatch/telegram` (`ListingAlert.formatPrice`, `Html`), so
 * the bot and the alerts write them the same way.
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
