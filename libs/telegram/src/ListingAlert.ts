/**
 * The listing alert and the price-drop alert (DESIGN.md flow 4), rendered from a listing row in
 * the recipient's language. Pure functions: the same input always gives the same message, which
 * is what the golden tests pin down.
 *
 * Layout: the cover photo with an HTML caption (<= 1024 characters after entities), or a text
 * message (<= 4096) when there is no usable photo or Telegram rejected it. Every scraped string
 * is cleaned, cut at a word boundary to a per-field maximum and HTML-escaped; the description
 * gets whatever room is left.
 */
import type { listings } from "@flatwatch/db/schema"
import * as Html from "./Html.ts"
import type { OutboxButton, PriceDropPayload } from "./Outbox.ts"
import type { InlineKeyboard, OutgoingMessage } from "./OutgoingMessage.ts"

export type Language = "ru" | "en"
type ListingRow = typeof listings.$inferSelect

/** The listing fields an alert shows; a `listings` row (Drizzle's select type) fits as is. */
export type AlertListing = Pick<
  ListingRow,
  | "market"
  | "url"
  | "title"
  | "description"
  | "price"
  | "priceOriginal"
  | "rentPeriod"
  | "currency"
  | "rooms"
  | "baths"
  | "areaM2"
  | "neighbourhood"
  | "address"
  | "furnished"
  | "agentName"
  | "agencyName"
  | "agentPhone"
  | "permitNumber"
  | "postedAt"
> & {
  readonly districtGroups: ReadonlyArray<string>
  readonly photos: ReadonlyArray<string>
}

export interface AlertInput {
  readonly listing: AlertListing
  readonly language: Language
  /** The filter that matched: adds the "mute this filter" button. */
  readonly filterId: number | null
  /** Send time, for "posted 5 min ago". */
  readonly now: Date
  /** Present for a price-drop alert. */
  readonly priceDrop?: PriceDropPayload | undefined
}

/**
 * Callback data of the "mute this filter" button: `mute:<filterId>` (at most 15 bytes, well under
 * Telegram's 64). The bot decodes it and must check the filter belongs to the user who pressed.
 */
export const MuteCallback = {
  encode: (filterId: number): string => `mute:${filterId}`,
  decode: (data: string): number | undefined => {
    const match = /^mute:(\d{1,10})$/.exec(data)
    const id = match?.[1] === undefined ? Number.NaN : Number(match[1])
    return Number.isSafeInteger(id) && id > 0 ? id : undefined
  },
} as const

/** Maximum visible length of each scraped field (the description takes what is left). */
const FIELD_MAX = {
  titleCaption: 200,
  titleText: 300,
  place: 100,
  person: 80,
  permit: 40,
  phone: 32,
  descriptionCaption: 350,
  descriptionText: 1200,
} as const
/** A shorter excerpt than this is noise: leave the description out. */
const MIN_DESCRIPTION = 40

const NBSP = "\u00a0"
const MINUS = "\u2212"

/** Markets whose sources count bedrooms (Bayut's "2 BR") rather than rooms. */
const BEDROOM_MARKETS = new Set(["dubai"])

const group = (n: number, separator: string) =>
  Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, separator)

/**
 * A price as users of that language write it: `12 500 AED` (no-break spaces) in Russian,
 * `AED 12,500` in English. Roubles are `₽` in Russian.
 */
export const formatPrice = (amount: number, currency: string, language: Language): string => {
  const code = currency.trim().toUpperCase()
  return language === "ru"
    ? `${group(amount, NBSP)}${NBSP}${code === "RUB" ? "₽" : code}`
    : `${code}${NBSP}${group(amount, ",")}`
}

const ruPlural = (n: number, one: string, few: string, many: string) => {
  const n10 = n % 10
  const n100 = n % 100
  if (n10 === 1 && n100 !== 11) return one
  if (n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14)) return few
  return many
}
const enPlural = (n: number, one: string, many: string) => (n === 1 ? one : many)

const PERIOD = {
  en: { monthly: "per month", yearly: "per year", weekly: "per week", daily: "per day" },
  ru: { monthly: "в месяц", yearly: "в год", weekly: "в неделю", daily: "в сутки" },
} as const

const MONTHS = {
  en: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
  ru: ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
} as const

const TEXTS = {
  en: {
    untitled: "Listing",
    studio: "Studio",
    rooms: (n: number, bedrooms: boolean) =>
      bedrooms
        ? `${n} ${enPlural(n, "bedroom", "bedrooms")}`
        : `${n} ${enPlural(n, "room", "rooms")}`,
    baths: (n: number) => `${n} ${enPlural(n, "bath", "baths")}`,
    area: (m2: number) => `${Math.round(m2)}${NBSP}m²`,
    furnished: "Furnished",
    unfurnished: "Unfurnished",
    permit: "Permit",
    posted: "Posted",
    justNow: "just now",
    minutesAgo: (n: number) => `${n}${NBSP}min ago`,
    hoursAgo: (n: number) => `${n}${NBSP}h ago`,
    daysAgo: (n: number) => `${n} ${enPlural(n, "day", "days")} ago`,
    date: (d: Date) => `${d.getUTCDate()} ${MONTHS.en[d.getUTCMonth()]} ${d.getUTCFullYear()}`,
    priceDrop: "Price drop",
    wasNow: (was: string, now: string) => `Was <s>${was}</s>, now <b>${now}</b>`,
    open: "🔗 Open listing",
    whatsapp: "💬 WhatsApp",
    mute: "🔕 Mute this filter",
  },
  ru: {
    untitled: "Объявление",
    studio: "Студия",
    rooms: (n: number, bedrooms: boolean) =>
      bedrooms
        ? `${n} ${ruPlural(n, "спальня", "спальни", "спален")}`
        : `${n} ${ruPlural(n, "комната", "комнаты", "комнат")}`,
    baths: (n: number) => `${n} ${ruPlural(n, "санузел", "санузла", "санузлов")}`,
    area: (m2: number) => `${Math.round(m2)}${NBSP}м²`,
    furnished: "С мебелью",
    unfurnished: "Без мебели",
    permit: "Разрешение",
    posted: "Опубликовано",
    justNow: "только что",
    minutesAgo: (n: number) => `${n}${NBSP}мин назад`,
    hoursAgo: (n: number) => `${n}${NBSP}ч назад`,
    daysAgo: (n: number) => `${n} ${ruPlural(n, "день", "дня", "дней")} назад`,
    date: (d: Date) => `${d.getUTCDate()} ${MONTHS.ru[d.getUTCMonth()]} ${d.getUTCFullYear()}`,
    priceDrop: "Цена снижена",
    wasNow: (was: string, now: string) => `Было <s>${was}</s>, стало <b>${now}</b>`,
    open: "🔗 Открыть объявление",
    whatsapp: "💬 WhatsApp",
    mute: "🔕 Не присылать по этому фильтру",
  },
} as const

/** "5 min ago" up to an hour, hours up to a day, days up to a week, then the date (UTC). */
const postedAgo = (postedAt: Date, now: Date, language: Language): string => {
  const t = TEXTS[language]
  const minutes = Math.floor((now.getTime() - postedAt.getTime()) / 60_000)
  if (minutes < 1) return t.justNow
  if (minutes < 60) return t.minutesAgo(minutes)
  if (minutes < 24 * 60) return t.hoursAgo(Math.floor(minutes / 60))
  if (minutes < 7 * 24 * 60) return t.daysAgo(Math.floor(minutes / (24 * 60)))
  return t.date(postedAt)
}

/** A cleaned, cut, escaped scraped field; undefined when empty. */
const field = (value: string | null | undefined, max: number): string | undefined => {
  if (value === null || value === undefined) return undefined
  const text = Html.truncate(Html.clean(value), max)
  return text.length === 0 ? undefined : Html.escape(text)
}

/** `+971 50 123 4567` / `00971...` -> `https://wa.me/971501234567`; local numbers have no link. */
const whatsappUrl = (phone: string): string | undefined => {
  const trimmed = phone.trim()
  if (!trimmed.startsWith("+") && !trimmed.startsWith("00")) return undefined
  const digits = trimmed.replace(/\D/g, "").replace(/^00/, "")
  return digits.length >= 8 && digits.length <= 15 ? `https://wa.me/${digits}` : undefined
}

const hostLabel = (url: string): string => {
  try {
    return Html.truncate(new URL(url).hostname.replace(/^www\./, ""), 60)
  } catch {
    return Html.truncate(url, 60)
  }
}

/** The cover photo Telegram should fetch: the first http(s) URL. */
export const coverPhoto = (listing: AlertListing): string | undefined =>
  listing.photos.find((p) => /^https?:\/\//i.test(p.trim()) && Html.isLinkable(p.trim()))?.trim()

const buttons = (input: AlertInput): InlineKeyboard => {
  const t = TEXTS[input.language]
  const { listing } = input
  const first: OutboxButton[] = []
  if (Html.isLinkable(listing.url)) first.push({ text: t.open, url: listing.url })
  const wa = listing.agentPhone === null ? undefined : whatsappUrl(listing.agentPhone)
  if (wa !== undefined) first.push({ text: t.whatsapp, url: wa })
  const rows: OutboxButton[][] = first.length > 0 ? [first] : []
  if (input.filterId !== null) {
    rows.push([{ text: t.mute, callback_data: MuteCallback.encode(input.filterId) }])
  }
  return rows
}

const compose = (
  input: AlertInput,
  limit: number,
  titleMax: number,
  descriptionMax: number,
): string => {
  const { listing, language, priceDrop } = input
  const t = TEXTS[language]
  const price = (amount: number) => Html.escape(formatPrice(amount, listing.currency, language))
  const period = PERIOD[language]

  const head: string[] = []
  if (priceDrop !== undefined) head.push(`📉 <b>${Html.escape(t.priceDrop)}</b>`)
  head.push(`<b>${field(listing.title, titleMax) ?? Html.escape(t.untitled)}</b>`, "")

  const body: string[] = []
  if (priceDrop !== undefined) {
    const percent =
      priceDrop.oldPrice > 0
        ? Math.round(((priceDrop.oldPrice - priceDrop.newPrice) / priceDrop.oldPrice) * 100)
        : 0
    const change = percent > 0 ? ` (${MINUS}${percent}%)` : ""
    body.push(
      `💰 ${t.wasNow(price(priceDrop.oldPrice), price(priceDrop.newPrice))} ${period.monthly}${change}`,
    )
  } else {
    body.push(`💰 <b>${price(listing.price)}</b> ${period.monthly}`)
  }
  if (listing.rentPeriod !== "monthly") {
    body.push(`<i>${price(listing.priceOriginal)} ${period[listing.rentPeriod]}</i>`)
  }
  const facts: string[] = []
  if (listing.rooms !== null) {
    facts.push(
      `🛏 ${
        listing.rooms === 0
          ? t.studio
          : t.rooms(listing.rooms, BEDROOM_MARKETS.has(listing.market.toLowerCase()))
      }`,
    )
  }
  if (listing.baths !== null) facts.push(`🛁 ${t.baths(listing.baths)}`)
  if (listing.areaM2 !== null && listing.areaM2 > 0) facts.push(`📐 ${t.area(listing.areaM2)}`)
  if (facts.length > 0) body.push(facts.join(" · "))
  const place =
    field(listing.neighbourhood, FIELD_MAX.place) ??
    field(listing.address, FIELD_MAX.place) ??
    field(listing.districtGroups.join(", "), FIELD_MAX.place)
  if (place !== undefined) body.push(`📍 ${place}`)
  if (listing.furnished !== null) body.push(`🛋 ${listing.furnished ? t.furnished : t.unfurnished}`)
  const permit = field(listing.permitNumber, FIELD_MAX.permit)
  if (permit !== undefined) body.push(`🪪 ${t.permit} ${permit}`)
  if (listing.postedAt !== null) {
    body.push(`🕒 ${t.posted} ${postedAgo(listing.postedAt, input.now, language)}`)
  }
  const people = [
    field(listing.agentName, FIELD_MAX.person),
    field(listing.agencyName, FIELD_MAX.person),
  ].filter((p) => p !== undefined)
  if (people.length > 0) body.push(`👤 ${people.join(" · ")}`)
  const phone = field(listing.agentPhone, FIELD_MAX.phone)
  // Telegram makes a phone number in the text tappable; buttons cannot carry tel: links.
  if (phone !== undefined) body.push(`📞 ${phone}`)

  const tail = ["", `🔗 ${Html.link(listing.url, hostLabel(listing.url))}`]
  const withoutDescription = [...head, ...body, ...tail].join("\n")

  const description =
    listing.description === null ? "" : Html.clean(listing.description, { paragraphs: true })
  // Room left for "\n\n" + the description.
  const room = Math.min(descriptionMax, limit - Html.visibleLength(withoutDescription) - 2)
  if (description.length === 0 || room < MIN_DESCRIPTION) return withoutDescription
  const excerpt = Html.escape(Html.truncate(description, room))
  return [...head, ...body, "", excerpt, ...tail].join("\n")
}

/** The alert as a text message (<= 4096): without a usable photo, or when Telegram refused it. */
export const renderText = (input: AlertInput): OutgoingMessage => ({
  type: "text",
  text: compose(input, Html.TEXT_LIMIT, FIELD_MAX.titleText, FIELD_MAX.descriptionText),
  html: true,
  buttons: buttons(input),
})

/**
 * The alert for a listing (`priceDrop` absent) or a price drop: the cover photo with a caption
 * when the listing has an http(s) photo, else a text message.
 */
export const render = (input: AlertInput): OutgoingMessage => {
  const photo = coverPhoto(input.listing)
  if (photo === undefined) return renderText(input)
  return {
    type: "photo",
    photo,
    caption: compose(
      input,
      Html.CAPTION_LIMIT,
      FIELD_MAX.titleCaption,
      FIELD_MAX.descriptionCaption,
    ),
    html: true,
    buttons: buttons(input),
  }
}
