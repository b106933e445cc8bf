import { expect, test } from "bun:test"
import { catalogs, type Messages } from "./Messages.ts"

/** Calls a catalog entry with plausible arguments, whatever its parameters are. */
const sampleArgs = (key: string): unknown[] => {
  switch (key) {
    case "btnStep":
      return ["rooms"]
    case "roomName":
      return [2]
    case "periodName":
      return ["yearly"]
    case "furnishingName":
      return ["furnished"]
    case "marketName":
      return ["dubai"]
    case "planButton":
      return ["week", 50]
    case "planName":
    case "invoiceTitle":
      return ["week"]
    case "invoiceDescription":
      return ["week", 7]
    case "preCheckoutError":
      return ["wrong_amount"]
    case "paymentThanks":
      return ["month", "1 May"]
    case "refunded":
      return ["day", 20, null]
    case "adminStats":
      return [
        {
          users: "1",
          blocked: "0",
          subscribers: "1",
          trials: "0",
          filters: "2",
          listingsToday: "3",
          sent24h: "4",
          failed24h: "0",
          outbox: "0",
        },
      ]
    case "adminSources":
      return [
        [
          {
            source: "bayut",
            status: "ok",
            lastRun: "now",
            lastSuccess: "now",
            lastOutcome: "ok",
            error: null,
          },
        ],
      ]
    case "searchCard":
      return ["Name", true, "summary"]
    case "saved":
      return ["Name", 12]
    case "paySupportToAdmin":
      return [1, "name", "text"]
    case "broadcastPreview":
      return [3, "hello"]
    case "refundFailed":
      return ["charge", "reason"]
    case "refundDone":
      return ["charge", 1, "date"]
    default:
      return ["x", 2, "y"]
  }
}

const render = (catalog: Messages, key: keyof Messages): string[] => {
  const value = catalog[key]
  if (typeof value === "string") return [value]
  if (typeof value === "function") {
    return [String((value as (...args: unknown[]) => unknown)(...sampleArgs(key)))]
  }
  return Object.values(value as Record<string, string>)
}

test("every text exists in Russian and in English", () => {
  const en = Object.keys(catalogs.en).sort()
  const ru = Object.keys(catalogs.ru).sort()
  expect(ru).toEqual(en)
  expect(Object.keys(catalogs.ru.commands).sort()).toEqual(Object.keys(catalogs.en.commands).sort())
  for (const key of en as Array<keyof Messages>) {
    for (const lang of ["en", "ru"] as const) {
      for (const text of render(catalogs[lang], key)) {
        expect({ lang, key, empty: text.trim().length === 0 }).toEqual({ lang, key, empty: false })
        expect({ lang, key, text }).not.toEqual({ lang, key, text: "undefined" })
      }
    }
  }
})

test("the Russian texts are translated, not copies of the English ones", () => {
  // Names, numbers and symbols are the same in both languages by nature.
  const sameByNature = new Set(["roomName", "priceBetween"])
  const copies = (Object.keys(catalogs.en) as Array<keyof Messages>).filter(
    (key) =>
      !sameByNature.has(key) &&
      JSON.stringify(render(catalogs.en, key)) === JSON.stringify(render(catalogs.ru, key)),
  )
  expect(copies).toEqual([])
})

test("Telegram's limits: command descriptions up to 256 characters, commands in lower case", () => {
  for (const lang of ["en", "ru"] as const) {
    for (const [command, description] of Object.entries(catalogs[lang].commands)) {
      expect(command).toMatch(/^[a-z0-9_]{1,32}$/)
      expect(description.length).toBeGreaterThan(2)
      expect(description.length).toBeLessThanOrEqual(256)
    }
  }
})
