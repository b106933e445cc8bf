/**
 * Golden tests of the alert renderers: each case's full output (message type, photo, HTML,
 * buttons) is compared with `golden/<case>.txt`. After an intended change of the layout, review
 * the new output and rewrite the files with `UPDATE_GOLDEN=1 bun test ListingAlert`.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import fc from "fast-check"
import { parseTelegramHtml } from "./FakeBotApiLimits.ts"
import * as Html from "./Html.ts"
import {
  type AlertInput,
  type AlertListing,
  formatPrice,
  MuteCallback,
  render,
  renderText,
} from "./ListingAlert.ts"
import type { OutgoingMessage } from "./OutgoingMessage.ts"

const GOLDEN = join(import.meta.dir, "golden")
const NOW = new Date("2025-06-05T14:30:00Z")

const listing: AlertListing = {
  market: "dubai",
  url: "https://www.bayut.com/property/details-8123456.html",
  title: "Spacious 2BR | Marina View | Chiller Free",
  description:
    "Bright two bedroom apartment on a high floor.\n\nFull marina view, balcony, built-in wardrobes. Close to the tram and JBR beach.",
  price: 12_500,
  priceOriginal: 150_000,
  rentPeriod: "yearly",
  currency: "AED",
  rooms: 2,
  baths: 2,
  areaM2: 102.2,
  neighbourhood: "Dubai Marina",
  districtGroups: ["Dubai Marina"],
  address: "Marina Gate 1, Dubai Marina, Dubai",
  furnished: true,
  photos: ["https://images.bayut.com/thumbnails/123-800x600.jpeg"],
  agentName: "Jane Doe",
  agencyName: "Best Homes Real Estate",
  agentPhone: "+971 50 123 4567",
  permitNumber: "7123456789",
  postedAt: new Date("2025-06-05T14:18:00Z"),
}

const input = (overrides: Partial<AlertInput> = {}): AlertInput => ({
  listing,
  language: "en",
  filterId: 42,
  now: NOW,
  ...overrides,
})

const show = (message: OutgoingMessage): string =>
  [
    `type: ${message.type}`,
    ...(message.type === "photo" ? [`photo: ${message.photo}`] : []),
    `html: ${message.html}`,
    `buttons: ${JSON.stringify(message.buttons)}`,
    "---",
    message.type === "photo" ? message.caption : message.text,
    "",
  ].join("\n")

const golden = (name: string, message: OutgoingMessage) => {
  const file = join(GOLDEN, `${name}.txt`)
  const actual = show(message)
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    writeFileSync(file, actual)
    if (process.env.UPDATE_GOLDEN !== "1")
      throw new Error(`golden file ${name}.txt was missing; written, review it`)
  }
  expect(actual).toBe(readFileSync(file, "utf8"))
}

const valid = (message: OutgoingMessage) => {
  const html = message.type === "photo" ? message.caption : message.text
  const parsed = parseTelegramHtml(html)
  if (!parsed.ok) throw new Error(`${parsed.error}\n${html}`)
  expect(parsed.text.length).toBeLessThanOrEqual(
    message.type === "photo" ? Html.CAPTION_LIMIT : Html.TEXT_LIMIT,
  )
  expect(parsed.text).toBe(Html.toPlainText(html))
  return parsed.text
}

describe("golden", () => {
  test("listing alert with a photo, English", () => {
    const message = render(input())
    valid(message)
    golden("listing-photo-en", message)
  })

  test("listing alert with a photo, Russian", () => {
    const message = render(input({ language: "ru" }))
    valid(message)
    golden("listing-photo-ru", message)
  })

  test("listing alert without a photo is a text message (monthly, studio, unfurnished)", () => {
    const message = render(
      input({
        listing: {
          ...listing,
          photos: [],
          rooms: 0,
          baths: 1,
          rentPeriod: "monthly",
          priceOriginal: 12_500,
          furnished: false,
          agentPhone: "050 123 4567",
          permitNumber: null,
          postedAt: new Date("2025-06-01T09:00:00Z"),
        },
        language: "ru",
        filterId: null,
      }),
    )
    valid(message)
    golden("listing-text-ru", message)
  })

  test("price drop, English and Russian", () => {
    const priceDrop = { oldPrice: 13_000, newPrice: 12_500 }
    const en = render(input({ priceDrop }))
    const ru = render(input({ priceDrop, language: "ru" }))
    valid(en)
    valid(ru)
    golden("price-drop-en", en)
    golden("price-drop-ru", ru)
  })

  test("a source without timestamps (Avito): the site's posted text, roubles, rooms not bedrooms", () => {
    const message = render(
      input({
        listing: {
          ...listing,
          market: "moscow",
          url: "https://www.avito.ru/moskva/kvartiry/2-k._kvartira_483_m_22_et._4242",
          title: "2-к. квартира, 48,3 м², 2/2 эт.",
          description: null,
          price: 45_000,
          priceOriginal: 45_000,
          rentPeriod: "monthly",
          currency: "RUB",
          rooms: 2,
          baths: null,
          areaM2: 48.3,
          neighbourhood: null,
          districtGroups: [],
          address: "Москва, ул. Ленина, 5 & <корп. 2>",
          furnished: null,
          photos: [],
          agentName: null,
          agencyName: null,
          agentPhone: null,
          permitNumber: null,
          postedAt: null,
          postedText: "4 дня назад",
        },
        language: "ru",
      }),
    )
    valid(message)
    golden("listing-avito-ru", message)
  })

  test("the posted text is shown only without a timestamp", () => {
    const text = (overrides: Partial<AlertListing>) => {
      const message = renderText(input({ listing: { ...listing, ...overrides } }))
      return Html.toPlainText(message.type === "text" ? message.text : message.caption)
    }
    expect(text({ postedText: "yesterday" })).toContain("Posted 12\u00a0min ago")
    expect(text({ postedText: "yesterday" })).not.toContain("yesterday")
    expect(text({ postedAt: null, postedText: "yesterday" })).toContain("Posted yesterday")
    expect(text({ postedAt: null, postedText: null })).not.toContain("Posted")
  })

  test("the text fallback of a photo alert (Telegram refused the photo)", () => {
    const message = renderText(input())
    valid(message)
    golden("listing-fallback-text-en", message)
  })

  test("scraped text is escaped and overlong fields are cut at a word boundary", () => {
    const message = render(
      input({
        listing: {
          ...listing,
          title: `<b>Luxury</b> & "cosy" </a> flat ${"with a really long title ".repeat(12)}`,
          neighbourhood: "JLT <script>alert(1)</script>",
          agentName: "Tom & Jerry <Agents>",
          description: "word ".repeat(2000),
        },
      }),
    )
    const visible = valid(message)
    expect(visible.startsWith(`<b>Luxury</b> & "cosy" </a> flat with a really long`)).toBe(true)
    golden("listing-hostile-en", message)
  })
})

describe("formatting", () => {
  test("prices per language", () => {
    expect(formatPrice(12_500, "AED", "ru")).toBe("12\u00a0500\u00a0AED")
    expect(formatPrice(12_500, "AED", "en")).toBe("AED\u00a012,500")
    expect(formatPrice(1_234_567, "aed", "en")).toBe("AED\u00a01,234,567")
    expect(formatPrice(45_000, "RUB", "ru")).toBe("45\u00a0000\u00a0₽")
    expect(formatPrice(999, "AED", "ru")).toBe("999\u00a0AED")
  })

  test("mute callback data round-trips and stays within Telegram's 64 bytes", () => {
    expect(MuteCallback.encode(42)).toBe("mute:42")
    expect(MuteCallback.decode("mute:42")).toBe(42)
    expect(Buffer.byteLength(MuteCallback.encode(2_147_483_647))).toBeLessThanOrEqual(64)
    for (const bad of ["mute:", "mute:-1", "mute:0", "mute:1x", "unmute:1", "mute:99999999999"]) {
      expect(MuteCallback.decode(bad)).toBeUndefined()
    }
  })

  test("WhatsApp button only for international numbers; never a tel: button", () => {
    const intl = render(input())
    expect(intl.buttons.flat()).toContainEqual({
      text: "💬 WhatsApp",
      url: "https://wa.me/971501234567",
    })
    const local = render(input({ listing: { ...listing, agentPhone: "050 123 4567" } }))
    expect(local.buttons.flat().some((b) => "url" in b && b.url.includes("wa.me"))).toBe(false)
    for (const b of [...intl.buttons.flat(), ...local.buttons.flat()]) {
      if ("url" in b) expect(Html.isLinkable(b.url)).toBe(true)
    }
  })
})

const arbitraryListing: fc.Arbitrary<AlertListing> = fc.record({
  market: fc.constantFrom("dubai", "moscow"),
  url: fc.oneof(fc.webUrl(), fc.string()),
  title: fc.string({ unit: "grapheme", maxLength: 3000 }),
  description: fc.option(fc.string({ unit: "grapheme", maxLength: 6000 }), { nil: null }),
  price: fc.integer({ min: 0, max: 100_000_000 }),
  priceOriginal: fc.integer({ min: 0, max: 1_000_000_000 }),
  rentPeriod: fc.constantFrom("monthly", "yearly", "weekly", "daily"),
  currency: fc.constantFrom("AED", "RUB", "<x>"),
  rooms: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
  baths: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
  areaM2: fc.option(fc.double({ min: 0, max: 100_000, noNaN: true }), { nil: null }),
  neighbourhood: fc.option(fc.string({ unit: "grapheme", maxLength: 500 }), { nil: null }),
  districtGroups: fc.array(fc.string({ maxLength: 50 }), { maxLength: 4 }),
  address: fc.option(fc.string({ unit: "grapheme", maxLength: 500 }), { nil: null }),
  furnished: fc.option(fc.boolean(), { nil: null }),
  photos: fc.array(fc.oneof(fc.webUrl(), fc.string()), { maxLength: 3 }),
  agentName: fc.option(fc.string({ unit: "grapheme", maxLength: 500 }), { nil: null }),
  agencyName: fc.option(fc.string({ unit: "grapheme", maxLength: 500 }), { nil: null }),
  agentPhone: fc.option(fc.string({ maxLength: 60 }), { nil: null }),
  permitNumber: fc.option(fc.string({ maxLength: 300 }), { nil: null }),
  postedAt: fc.option(fc.date({ noInvalidDate: true }), { nil: null }),
  postedText: fc.option(fc.string({ unit: "grapheme", maxLength: 300 }), { nil: null }),
})

test("any listing renders as valid Telegram HTML within the limits, in both languages", () => {
  fc.assert(
    fc.property(
      arbitraryListing,
      fc.constantFrom("ru" as const, "en" as const),
      fc.option(fc.integer({ min: 1, max: 2_147_483_647 }), { nil: null }),
      fc.boolean(),
      (l, language, filterId, drop) => {
        const alert = input({
          listing: l,
          language,
          filterId,
          priceDrop: drop ? { oldPrice: l.price + 100, newPrice: l.price } : undefined,
        })
        for (const message of [render(alert), renderText(alert)]) {
          valid(message)
          for (const b of message.buttons.flat()) {
            if ("url" in b) expect(Html.isLinkable(b.url)).toBe(true)
            else expect(Buffer.byteLength(b.callback_data)).toBeLessThanOrEqual(64)
          }
        }
      },
    ),
    { numRuns: 300 },
  )
})
