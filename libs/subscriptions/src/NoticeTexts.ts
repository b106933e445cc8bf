/**
 * The messages the subscriptions worker queues (reminders before the end, the expiry notice),
 * in every language users can choose. Texts are Telegram HTML; nothing user-supplied goes into
 * them. Renew buttons carry the callback data `buy:<planId>` (see `buyCallbackData`), which the
 * bot answers by sending the plan's invoice.
 */
import { formatDateTime } from "@flatwatch/telegram/DisplayTime"
import type { OutboxButton, TextPayload } from "@flatwatch/telegram/Outbox"
import { Duration } from "effect"
import { isPlanId, type Plan, type PlanId } from "./Plans.ts"
import type { SubscriptionPlan } from "./Subscriptions.ts"

export type Language = "ru" | "en"
export const languages: ReadonlyArray<Language> = ["ru", "en"]

/** Callback data of a renew button: `buy:day`, `buy:week`, `buy:month` (≤ 64 bytes). */
export const buyCallbackData = (planId: PlanId): string => `buy:${planId}`

/** Parses renew-button callback data; undefined for anything else. */
export const parseBuyCallbackData = (data: string): PlanId | undefined => {
  const planId = data.startsWith("buy:") ? data.slice(4) : undefined
  return isPlanId(planId) ? planId : undefined
}

export interface ReminderFacts {
  /** The plan of the period that ends (a trial is worded differently). */
  readonly plan: SubscriptionPlan
  readonly endsAt: Date
  /** The time left until the end (about the configured offset; less when catching up). */
  readonly left: Duration.Duration
  /** The zone the end is shown in (`TIME_ZONE`, see `DisplayTime`). */
  readonly timeZone: string
}

export interface ExpiryFacts {
  readonly plan: SubscriptionPlan
}

/** Every text of one language. Adding a key here makes the compiler ask for it in each language. */
export interface NoticeTexts {
  readonly reminder: (facts: ReminderFacts) => string
  readonly expired: (facts: ExpiryFacts) => string
  readonly planButton: (plan: Plan) => string
}

type Unit = "day" | "hour" | "minute"

/**
 * The time left as people say it: to the nearest day from about a day up, else the nearest
 * hour, else minutes (at least 1). A reminder queued a few seconds after its moment still
 * says "3 days"; one queued late says what is really left.
 */
export const splitDuration = (
  d: Duration.Duration,
): { readonly n: number; readonly unit: Unit } => {
  const minutes = Duration.toMillis(d) / 60_000
  if (minutes >= 1410) return { n: Math.round(minutes / 1440), unit: "day" }
  if (minutes >= 59.5) return { n: Math.round(minutes / 60), unit: "hour" }
  return { n: Math.max(1, Math.round(minutes)), unit: "minute" }
}

/** Russian plural forms: one (1, 21), few (2-4, 22-24), many (5-20, 25...). */
const ruPlural = (n: number, one: string, few: string, many: string): string => {
  const mod10 = n % 10
  const mod100 = n % 100
  if (mod10 === 1 && mod100 !== 11) return one
  if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return few
  return many
}

const RU_UNITS: Record<Unit, readonly [string, string, string]> = {
  day: ["день", "дня", "дней"],
  hour: ["час", "часа", "часов"],
  minute: ["минуту", "минуты", "минут"],
}

const ruCount = (n: number, unit: Unit): string => {
  const [one, few, many] = RU_UNITS[unit]
  return `${n} ${ruPlural(n, one, few, many)}`
}

const enCount = (n: number, unit: Unit): string => `${n} ${unit}${n === 1 ? "" : "s"}`

const en: NoticeTexts = {
  reminder: ({ plan, endsAt, left, timeZone }) => {
    const { n, unit } = splitDuration(left)
    const then = formatDateTime("en", endsAt, timeZone)
    return plan === "trial"
      ? `⏳ <b>Your free trial ends in ${enCount(n, unit)}</b> (${then}).\n` +
          "Choose a plan to keep getting new listings the moment they appear."
      : `⏳ <b>Your Flatwatch subscription ends in ${enCount(n, unit)}</b> (${then}).\n` +
          "Renew now to keep getting new listings without a gap: " +
          "the days you buy are added after your current period."
  },
  expired: ({ plan }) =>
    `🔔 <b>${plan === "trial" ? "Your free trial has ended." : "Your Flatwatch subscription has ended."}</b>\n` +
    "New listings are no longer sent to you. Your searches are kept: " +
    "choose a plan and alerts start again right away.",
  planButton: (plan) => `${enCount(plan.days, "day")} — ${plan.stars} ⭐`,
}

const ru: NoticeTexts = {
  reminder: ({ plan, endsAt, left, timeZone }) => {
    const { n, unit } = splitDuration(left)
    const then = formatDateTime("ru", endsAt, timeZone)
    return plan === "trial"
      ? `⏳ <b>Бесплатный пробный период закончится через ${ruCount(n, unit)}</b> (${then}).\n` +
          "Выберите тариф, чтобы и дальше получать новые объявления сразу после их появления."
      : `⏳ <b>Ваша подписка Flatwatch закончится через ${ruCount(n, unit)}</b> (${then}).\n` +
          "Продлите сейчас, чтобы получать объявления без перерыва: " +
          "купленные дни добавятся после текущего периода."
  },
  expired: ({ plan }) =>
    `🔔 <b>${plan === "trial" ? "Бесплатный пробный период закончился." : "Ваша подписка Flatwatch закончилась."}</b>\n` +
    "Новые объявления больше не приходят. Ваши фильтры сохранены: " +
    "выберите тариф, и уведомления сразу возобновятся.",
  planButton: (plan) => `${ruCount(plan.days, "day")} — ${plan.stars} ⭐`,
}

export const noticeTexts: Readonly<Record<Language, NoticeTexts>> = { ru, en }

/** One row per plan, each a `buy:<planId>` button. */
export const renewButtons = (
  language: Language,
  plans: ReadonlyArray<Plan>,
): ReadonlyArray<ReadonlyArray<OutboxButton>> =>
  plans.map((plan) => [
    { text: noticeTexts[language].planButton(plan), callback_data: buyCallbackData(plan.id) },
  ])

export const reminderPayload = (
  language: Language,
  facts: ReminderFacts,
  plans: ReadonlyArray<Plan>,
): TextPayload => ({
  text: noticeTexts[language].reminder(facts),
  buttons: renewButtons(language, plans),
})

export const expiredPayload = (
  language: Language,
  facts: ExpiryFacts,
  plans: ReadonlyArray<Plan>,
): TextPayload => ({
  text: noticeTexts[language].expired(facts),
  buttons: renewButtons(language, plans),
})
