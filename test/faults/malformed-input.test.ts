/**
 * Fault: malformed input from Telegram's side.
 *
 * 1. 1,000 random updates from 100 users at once: random text (every script, emoji, RTL and
 *    zero-width marks, control characters, texts of 5,000 to 100,000 characters), unknown and
 *    malformed commands, messages without text, random callback data (noise and near misses of
 *    real buttons) on random messages, odd names and language codes. Expected: no component
 *    crashes, every message gets an answer and every button press is answered (once), and no
 *    garbage is stored (no search, order or subscription; sessions that read back as sessions).
 * 2. The Bot API answers sends with something that is not its JSON (a proxy's HTML error page,
 *    with 502 and with 200). Expected: retried; every alert and notice arrives, once.
 *
 * The random input is reproducible: the seed is printed, and FAULT_SEED=<seed> replays it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { SessionData } from "@flatwatch/bot/Session"
import type { FakeUser } from "@flatwatch/telegram/FakeBotApi"
import { Schema } from "effect"
import {
  duplicatesOf,
  outboxCounts,
  restarts,
  seedBacklog,
  seedNotices,
  sendsPerAlert,
  waitAllSent,
} from "../support/faults.ts"
import { SYSTEM_TOKEN, System } from "../support/system.ts"

setDefaultTimeout(120_000)

const USERS = 100
const UPDATES = 1_000
const FIRST_USER = 90_001
const NON_JSON = 4
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000)

/** A small seeded generator (mulberry32): the same seed gives the same updates. */
const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
const rnd = random(SEED)
const int = (n: number) => Math.floor(rnd() * n)
const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(xs.length)] as A

/** Code point ranges of text people (and broken clients) send. */
const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x20, 0x7e], // ASCII
  [0x400, 0x4ff], // Cyrillic
  [0x600, 0x6ff], // Arabic (RTL)
  [0x4e00, 0x9fff], // CJK
  [0x1f300, 0x1faff], // emoji
  [0x300, 0x36f], // combining marks
  [0x200b, 0x200f], // zero-width and direction marks
  [0x2028, 0x202e], // separators, embeddings, RTL override
  [0x1, 0x1f], // control characters
  [0xe000, 0xf8ff], // private use
  [0x10000, 0x10ffff], // anything astral
]
const text = (length: number) => {
  let out = ""
  while (out.length < length) {
    const [lo, hi] = pick(RANGES)
    out += String.fromCodePoint(lo + int(hi - lo + 1))
  }
  return out
}

const COMMANDS = ["start", "help", "filters", "subscription", "language", "pause", "terms"]
const messageText = (): string => {
  switch (int(10)) {
    case 0:
      return text(5_000 + int(95_000)) // far beyond Telegram's 4,096
    case 1:
      return `/${text(1 + int(20)).replace(/\s/g, "")}` // an unknown command
    case 2:
      return `/${pick(COMMANDS)}${pick(["@other_bot", "@flatwatch_test_bot", " ", ` ${text(30)}`, "\u0000"])}`
    case 3:
      return pick(["/", "//", "/ start", "/START", "/deleteme extra", "/stats", "/broadcast hi"])
    case 4:
      return pick(["0", "-1", "9".repeat(40), "1e9", "NaN", "12 500", "٣٠٠٠", "∞", " "])
    default:
      return text(1 + int(300))
  }
}

/** Callback data: noise, and near misses of the bot's real buttons (see CallbackData.ts). */
const callbackData = (): string => {
  const nearMisses = [
    "mute:",
    "mute:-1",
    "mute:99999999999",
    "mute:1:2",
    "unmute:abc",
    "flt:del:999999",
    "flt:open:0",
    "flt:zap:1",
    "e.room:6",
    "e.min:-5",
    "e.max:1e9",
    "e.dist:100",
    "e.mkt:../../etc",
    "buy:year",
    "buy:",
    "del:maybe",
    "bc:send:ZZZ",
    "lang:de",
    "menu:admin",
    ":",
    "::::",
  ]
  switch (int(4)) {
    case 0:
      return pick(nearMisses)
    case 1:
      return text(1 + int(64))
    case 2:
      return Array.from({ length: 1 + int(64) }, () => String.fromCharCode(0x21 + int(94))).join("")
    default:
      return `${pick(["mute", "flt", "e.step", "menu", "buy", "bc"])}:${text(1 + int(20))}`
  }
}

// Names never hold U+0000 (Telegram does not allow it; PostgreSQL text could not store it).
const user = (i: number): FakeUser => ({
  id: FIRST_USER + i,
  first_name: pick([`User ${i}`, text(1 + int(64)), "‮evil‬", "<b>bold</b> & co", "\u200b"]),
  ...(int(3) === 0 ? {} : { username: `u_${i}_${int(1000)}` }),
  ...(int(4) === 0 ? {} : { language_code: pick(["en", "ru", "de", "", "xx-YY", "ru-RU", "🇷🇺"]) }),
})

let system: System

beforeAll(async () => {
  system = await System.start({
    // Transient failures slow a sender down (one probe at a time, the pause doubling from
    // SEND_RETRY_BASE up to SEND_RETRY_MAX); shorter than the defaults to keep the test short.
    env: { SEND_RETRY_BASE: "200 millis", SEND_RETRY_MAX: "2 seconds" },
  })
  await system.startRunner()
})
afterAll(async () => {
  await system?.stop()
})

describe("malformed input", () => {
  test("1,000 random updates from 100 users: no crash, every message and press answered, no garbage stored", async () => {
    const users = Array.from({ length: USERS }, (_, i) => user(i))
    const messagesTo = new Map<number, number>()
    const callbackIds: string[] = []
    const since = system.fake.calls.length
    for (let n = 0; n < UPDATES; n++) {
      const from = pick(users)
      const kind = int(10)
      if (kind < 6) {
        system.fake.injectMessage(SYSTEM_TOKEN, from, messageText())
        messagesTo.set(from.id, (messagesTo.get(from.id) ?? 0) + 1)
      } else if (kind < 9) {
        const id = system.fake.injectCallbackQuery(
          SYSTEM_TOKEN,
          from,
          callbackData(),
          pick([1, 2, 999_999, 0, -1]),
        )
        callbackIds.push(`cq${id}`)
      } else {
        // A message without text: a sticker, a location, a contact, a document.
        system.fake.injectUpdate(SYSTEM_TOKEN, {
          message: {
            message_id: system.fake.messageId(from.id),
            date: Math.floor(Date.now() / 1000),
            chat: { id: from.id, type: "private", first_name: from.first_name ?? "x" },
            from: { is_bot: false, first_name: "x", ...from },
            ...pick([
              {
                sticker: {
                  file_id: "s1",
                  file_unique_id: "s1",
                  width: 1,
                  height: 1,
                  is_animated: false,
                  is_video: false,
                  type: "regular",
                },
              },
              { location: { latitude: 25.08, longitude: 55.14 } },
              { contact: { phone_number: "+971500000000", first_name: "Agent" } },
              { document: { file_id: "d1", file_unique_id: "d1", file_name: "../../passwd" } },
            ]),
          },
        })
        messagesTo.set(from.id, (messagesTo.get(from.id) ?? 0) + 1)
      }
    }
    const started = Date.now()

    // Every press answered, each once; every message answered (one user's updates are handled
    // in order, so a chat has at least as many new messages from the bot as it sent).
    const answered = () => {
      const answers = new Map<string, number>()
      for (const c of system.fake.calls.slice(since))
        if (c.method === "answerCallbackQuery") {
          const id = String(c.params.callback_query_id)
          answers.set(id, (answers.get(id) ?? 0) + 1)
        }
      return answers
    }
    const sentTo = () => {
      const sent = new Map<number, number>()
      for (const c of system.fake.calls.slice(since))
        if (c.method === "sendMessage") {
          const chat = Number(c.params.chat_id)
          sent.set(chat, (sent.get(chat) ?? 0) + 1)
        }
      return sent
    }
    await system.waitFor(
      `answers to all ${UPDATES} updates (seed ${SEED})`,
      () => {
        const a = answered()
        const s = sentTo()
        const pressesDone = callbackIds.every((id) => a.has(id))
        const messagesDone = [...messagesTo].every(([chat, n]) => (s.get(chat) ?? 0) >= n)
        return pressesDone && messagesDone ? true : undefined
      },
      90_000,
    )
    const tookMs = Date.now() - started
    const answers = answered()
    expect([...answers.values()].every((n) => n === 1)).toBe(true)

    expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
    const [stored] = await system.sql<
      { filters: number; payments: number; subscriptions: number }[]
    >`
      select (select count(*)::int from filters) as filters,
             (select count(*)::int from payments) as payments,
             (select count(*)::int from subscriptions) as subscriptions`
    expect(stored).toEqual({ filters: 0, payments: 0, subscriptions: 0 })
    const sessions = await system.sql<{ key: string; value: unknown; size: number }[]>`
      select key, value, length(value::text) as size from bot_sessions`
    const decode = Schema.decodeUnknownEither(SessionData)
    for (const s of sessions) {
      expect(decode(s.value)._tag).toBe("Right")
      expect(s.size).toBeLessThan(10_000)
    }
    const errors = system.errorsLogged()
    console.info(
      `[fault random updates] seed ${SEED}: ${UPDATES} updates (${[...messagesTo.values()].reduce((a, b) => a + b, 0)} messages, ${callbackIds.length} presses) ` +
        `from ${USERS} users answered in ${tookMs} ms; ${sessions.length} sessions kept; restarts 0; ${errors.length} error lines` +
        (errors.length > 0
          ? `: ${[...new Set(errors.map((e) => e.slice(0, 120)))].slice(0, 5).join(" | ")}`
          : ""),
    )
  })

  test("the Bot API answers sends with an HTML page instead of JSON: retried, every alert and notice arrives once", async () => {
    const before = (await outboxCounts(system)).sent
    const users = await seedBacklog(system, {
      firstUser: 95_001,
      users: 10,
      listings: 2,
      prefix: "J",
    })
    const htmlPage = () =>
      new Response("<html><body><h1>It works!</h1></body></html>", {
        status: 200,
        headers: { "content-type": "text/html" },
      })
    system.fake.limits.nonJsonNext(NON_JSON) // 502 with an HTML body
    system.fake.limits.fault((ctx) => ctx.method.startsWith("send"), htmlPage, NON_JSON) // 200
    await seedNotices(system, users, "nonjson")
    await waitAllSent(system, before + 30, 60_000)
    const counts = sendsPerAlert(system, (m) => m.chatId >= 95_001 && m.chatId < 95_011)
    expect(counts.size).toBe(30)
    expect(duplicatesOf(counts)).toBe(0)
    const retried = await system.metric("flatwatch_delivery_retried_total", { component: "parser" })
    expect(retried).toBeGreaterThan(0)
    console.info(
      `[fault non-JSON answers] ${2 * NON_JSON} sends answered with HTML: retried (parser retries ${retried}); 30 sent once`,
    )
  })
})
