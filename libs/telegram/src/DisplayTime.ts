/**
 * The one way a date is shown to users, wherever it is written (bot screens, subscription
 * notices): in the operator's `TIME_ZONE`, with the zone named, so a screen and a reminder about
 * the same moment always say the same thing.
 */
import { Config } from "effect"
import type { Language } from "./ListingAlert.ts"

/** The zone's canonical name (`asia/dubai` → `Asia/Dubai`); undefined when it is not a zone. */
const canonicalZone = (zone: string): string | undefined => {
  try {
    return new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/**
 * `TIME_ZONE`: the IANA zone (`UTC`, `Asia/Dubai`) every date users see is shown in; default
 * `UTC`. A name the runtime does not know fails naming the variable.
 */
export const timeZone: Config.Config<string> = Config.string("TIME_ZONE").pipe(
  Config.validate({
    message: "must be an IANA time zone such as UTC or Asia/Dubai",
    validation: (zone) => canonicalZone(zone) !== undefined,
  }),
  Config.map((zone) => canonicalZone(zone) ?? zone),
  Config.withDefault("UTC"),
)

const LOCALES: Record<Language, string> = { ru: "ru-RU", en: "en-GB" }

/** Building a formatter is costly (a tick may format thousands of dates): one per language/zone. */
const formatters = new Map<string, Intl.DateTimeFormat>()

/**
 * `5 December 2026 at 02:00 GST` / `5 декабря 2026 г. в 02:00 GMT+4`: day, month, year and
 * time in `zone`, followed by the zone's short name (an offset where the language has no
 * abbreviation for it). `zone` must be valid (read through `timeZone`); an unknown one throws.
 */
export const formatDateTime = (lang: Language, date: Date, zone: string): string => {
  const key = `${lang}|${zone}`
  let formatter = formatters.get(key)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat(LOCALES[lang], {
      day: "numeric",
      month: "long",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: zone,
      timeZoneName: "short",
    })
    formatters.set(key, formatter)
  }
  return formatter.format(date)
}
