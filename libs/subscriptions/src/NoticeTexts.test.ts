import { describe, expect, test } from "bun:test"
import { Duration } from "effect"
import {
  buyCallbackData,
  expiredPayload,
  type Language,
  languages,
  noticeTexts,
  parseBuyCallbackData,
  reminderPayload,
  splitDuration,
} from "./NoticeTexts.ts"
import { type Plan, planIds } from "./Plans.ts"
import type { SubscriptionPlan } from "./Subscriptions.ts"

const plans: ReadonlyArray<Plan> = [
  { id: "day", stars: 20, days: 1 },
  { id: "week", stars: 50, days: 7 },
  { id: "month", stars: 200, days: 30 },
]
const subscriptionPlans: ReadonlyArray<SubscriptionPlan> = [
  "trial",
  "day",
  "week",
  "month",
  "grant",
]
const endsAt = new Date(Date.UTC(2026, 10, 8, 12))

/** Every message of one language, for every case the worker can meet. */
const allTexts = (language: Language): string[] =>
  subscriptionPlans.flatMap((plan) => [
    ...[Duration.days(3), Duration.days(1), Duration.hours(5), Duration.minutes(2)].map(
      (left) => reminderPayload(language, { plan, endsAt, left, timeZone: "UTC" }, plans).text,
    ),
    expiredPayload(language, { plan }, plans).text,
  ])

/** Telegram HTML as these texts use it: only <b>, properly closed, no stray `<` or `&`. */
const isTelegramHtml = (text: string): boolean => {
  const stripped = text.replace(/<b>[^<>]*<\/b>/g, "")
  return !/[<>]/.test(stripped) && !/&(?!amp;|lt;|gt;|quot;)/.test(stripped)
}

describe("notice texts", () => {
  test("every language has every text", () => {
    const keys = (l: Language) => Object.keys(noticeTexts[l]).sort()
    expect(languages).toEqual(["ru", "en"])
    for (const language of languages) {
      expect(keys(language)).toEqual(keys("en"))
      for (const key of keys(language)) {
        expect(typeof noticeTexts[language][key as keyof (typeof noticeTexts)["en"]]).toBe(
          "function",
        )
      }
    }
  })

  test.each(languages)("%s texts are non-empty, valid Telegram HTML, and in the language", (l) => {
    const texts = allTexts(l)
    for (const text of texts) {
      expect(text.length).toBeGreaterThan(20)
      expect(text.length).toBeLessThanOrEqual(4096)
      expect(isTelegramHtml(text)).toBe(true)
      // Russian texts are written in Cyrillic; English ones have none.
      expect(/[а-яё]/i.test(text)).toBe(l === "ru")
    }
    // Trial and paid periods are worded differently, and each time left reads differently:
    // 4 trial reminders, 4 paid reminders (the same for every paid plan), 2 expiry notices.
    expect(new Set(texts).size).toBe(10)
  })

  test("Russian counts agree with their number", () => {
    const left = (d: Duration.DurationInput) =>
      reminderPayload(
        "ru",
        { plan: "week", endsAt, left: Duration.decode(d), timeZone: "UTC" },
        plans,
      ).text
    expect(left(Duration.days(1))).toContain("через 1 день")
    expect(left(Duration.days(3))).toContain("через 3 дня")
    expect(left(Duration.days(5))).toContain("через 5 дней")
    expect(left(Duration.days(11))).toContain("через 11 дней")
    expect(left(Duration.days(21))).toContain("через 21 день")
    expect(left(Duration.hours(2))).toContain("через 2 часа")
    expect(left(Duration.minutes(1))).toContain("через 1 минуту")
    expect(noticeTexts.ru.planButton({ id: "month", stars: 200, days: 30 })).toBe(
      "30 дней — 200 ⭐",
    )
  })

  test("the time left reads as people say it", () => {
    const say = (d: Duration.DurationInput) => splitDuration(Duration.decode(d))
    expect(say(Duration.millis(3 * 86_400_000 - 40_000))).toEqual({ n: 3, unit: "day" })
    expect(say(Duration.hours(23.75))).toEqual({ n: 1, unit: "day" })
    expect(say(Duration.hours(20))).toEqual({ n: 20, unit: "hour" })
    expect(say(Duration.seconds(20))).toEqual({ n: 1, unit: "minute" })
  })
})

describe("renew buttons", () => {
  test("one button per plan, each `buy:<planId>` within Telegram's 64 bytes", () => {
    for (const language of languages) {
      const { buttons } = expiredPayload(language, { plan: "week" }, plans)
      expect(
        buttons?.map((row) => row.map((b) => "callback_data" in b && b.callback_data)),
      ).toEqual([["buy:day"], ["buy:week"], ["buy:month"]])
    }
    for (const id of planIds) {
      const data = buyCallbackData(id)
      expect(new TextEncoder().encode(data).length).toBeLessThanOrEqual(64)
      expect(parseBuyCallbackData(data)).toBe(id)
    }
  })

  test("callback data that is not a renew button is rejected", () => {
    for (const data of ["buy:trial", "buy:grant", "buy:", "buy:week:1", "sell:week", "", "week"]) {
      expect(parseBuyCallbackData(data)).toBeUndefined()
    }
  })
})
