import { expect, test } from "bun:test"
import { catalogs, type Messages } from "./Messages.ts"

type FunctionKey = {
  [K in keyof Messages]: Messages[K] extends (...args: never[]) => string ? K : never
}[keyof Messages]

/** Arguments for every text that takes some (a new one must be added here to compile). */
const args: { readonly [K in FunctionKey]: Parameters<Messages[K]> } = {
  greeting: ["Anna", true],
  paySupportToAdmin: [1, "name", "text"],
  btnStep: ["rooms"],
  searchesTitle: [1, 5],
  limitReached: [5],
  defaultSearchName: [2],
  searchCard: ["Name", true, "summary"],
  confirmDelete: ["Name"],
  deleted: ["Name"],
  searchPaused: ["Name"],
  searchResumed: ["Name"],
  askRename: ["Name"],
  renamed: ["Name"],
  priceFrom: ["AED 1"],
  priceUpTo: ["AED 2"],
  priceBetween: ["AED 1", "AED 2"],
  roomName: [2],
  periodName: ["yearly"],
  furnishingName: ["furnished"],
  editorEditing: ["Name"],
  stepPriceMin: ["AED"],
  stepPriceMax: ["AED"],
  saved: ["Name", 12],
  trialStarted: ["1 May"],
  priceNotNumber: ["abc", "AED"],
  priceNegative: ["AED"],
  priceTooLarge: ["AED 1"],
  priceMinAboveMax: ["AED 2", "AED 1"],
  priceMaxBelowMin: ["AED 1", "AED 2"],
  muted: ["Name"],
  unmuted: ["Name"],
  subTrial: ["1 May"],
  subPaid: ["1 May"],
  subExpired: ["1 May"],
  planButton: ["week", 50],
  planName: ["week"],
  invoiceTitle: ["week"],
  invoiceDescription: ["week", 7],
  preCheckoutError: ["wrong_amount"],
  paymentThanks: ["month", "1 May"],
  paymentAlreadyCredited: ["1 May"],
  refunded: ["day", 20, null],
  paymentNotCredited: ["charge"],
  paymentNotCreditedToAdmin: [1, "charge", "no order"],
  adminStats: [
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
  ],
  adminSources: [
    [
      {
        source: "bayut",
        status: "ok",
        lastRun: "now",
        lastSuccess: "now",
        lastOutcome: "ok",
        error: null,
        browserSince: "now",
        via: "html search page",
      },
    ],
  ],
  broadcastPreview: [3, "hello"],
  broadcastTooLong: [3500],
  btnBroadcastSend: [3],
  broadcastQueued: [3],
  grantNoUser: [1],
  grantDone: [1, 7, "1 May"],
  grantedToUser: [7, "1 May"],
  refundDone: ["charge", 1, "1 May"],
  refundFailed: ["charge", "reason"],
  refundRefused: ["charge", "AlreadyRefunded"],
}

const render = (catalog: Messages, key: keyof Messages): string[] => {
  const value = catalog[key]
  if (typeof value === "string") return [value]
  if (typeof value === "function") {
    const call = value as (...a: unknown[]) => string
    return [call(...(args[key as FunctionKey] as unknown[]))]
  }
  return Object.values(value as Record<string, string>)
}

test("every text exists in Russian and in English", () => {
  const en = Object.keys(catalogs.en).sort()
  const ru = Object.keys(catalogs.ru).sort()
  expect(ru).toEqual(en)
  expect(Object.keys(catalogs.ru.commands).sort()).toEqual(Object.keys(catalogs.en.commands).sort())
  expect(Object.keys(catalogs.ru.adminCommands).sort()).toEqual(
    Object.keys(catalogs.en.adminCommands).sort(),
  )
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
    const { commands, adminCommands } = catalogs[lang]
    for (const [command, description] of Object.entries({ ...commands, ...adminCommands })) {
      expect(command).toMatch(/^[a-z0-9_]{1,32}$/)
      expect(description.length).toBeGreaterThan(2)
      expect(description.length).toBeLessThanOrEqual(256)
    }
  }
})

test("counts in texts are written the way each language writes numbers", () => {
  expect(catalogs.en.saved("Marina", 12_500)).toContain(
    "12,500 listings this week would have reached you.",
  )
  expect(catalogs.ru.saved("Марина", 12_500)).toContain(
    "За эту неделю вам пришло бы 12\u00a0500 объявлений.",
  )
  expect(catalogs.en.saved("Marina", 1)).toContain("1 listing this week")
  expect(catalogs.en.btnBroadcastSend(1)).toBe("📣 Send to 1 user")
  expect(catalogs.en.broadcastQueued(2_500)).toBe("📣 Queued for 2,500 users.")
  expect(catalogs.ru.broadcastQueued(2_500)).toBe("📣 Поставлено в очередь для 2\u00a0500 польз.")
})
