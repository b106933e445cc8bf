/**
 * Formatting for the user's language: numbers (`12 500` in Russian, `12,500` in English) and
 * plural forms. Dates (`DisplayTime.formatDateTime`, in `TIME_ZONE`), prices, HTML escaping and
 * cutting text to Telegram's limits come from `@flatwatch/telegram` (`ListingAlert.formatPrice`,
 * `Html`), so the bot, the alerts and the notices write them the same way.
 */

export type Language = "ru" | "en"

/** Russian when Telegram says `ru` (or `ru-RU`), English for everything else. */
export const languageFromTelegram = (code: string | undefined): Language =>
  code !== undefined && /^ru(?:-|$)/i.test(code) ? "ru" : "en"

const numberFormats: Record<Language, Intl.NumberFormat> = {
  ru: new Intl.NumberFormat("ru-RU", { maximumFractionDigits: 0 }),
  en: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
}

/** `12 500` (non-breaking space) in Russian, `12,500` in English. */
export const formatNumber = (lang: Language, n: number): string => numberFormats[lang].format(n)

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
