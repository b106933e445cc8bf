/**
 * The outbox sender against real PostgreSQL and the fake Bot API over real HTTP. Rates are
 * scaled up from Telegram's (the fake's limits are raised to match) so the suite stays fast;
 * the per-chat limit stays Telegram's 1 msg/s.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { deliveries, users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { asc, eq } from "drizzle-orm"
import {
  ConfigProvider,
  Effect,
  Either,
  Exit,
  Layer,
  Logger,
  LogLevel,
  ManagedRuntime,
  Metric,
  Redacted,
  Scope,
} from "effect"
import { queueAlerts, seedListings, seedUsers, statusCounts } from "./DeliveryFixtures.ts"
import * as Metrics from "./DeliveryMetrics.ts"
import { FakeBotApi } from "./FakeBotApi.ts"
import { enqueue } from "./Outbox.ts"
import * as OutboxSender from "./OutboxSender.ts"

const TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
const ALL_KINDS = [
  "listing",
  "price_drop",
  "reminder",
  "expired",
  "broadcast",
  "admin_notice",
  "notice",
] as const

const runtime = ManagedRuntime.make(
  Layer.mergeAll(TestDatabase.layer("outbox-sender-test"), Logger.minimumLogLevel(LogLevel.None)),
)
const run = <A, E>(effect: Effect.Effect<A, E, Database>) => runtime.runPromise(effect)

let fake: FakeBotApi
const running: Array<() => Promise<void>> = []
let senderNumber = 0

beforeAll(() => runtime.runPromise(Effect.void))
afterAll(() => runtime.dispose())
beforeEach(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
  await run(
    Database.sql(
      (s) => s`TRUNCATE deliveries, listing_prices, listings, users RESTART IDENTITY CASCADE`,
    ),
  )
})
afterEach(async () => {
  for (const stop of running.splice(0)) await stop()
  await fake.stop()
})

interface Started {
  readonly name: string
  /** Closes the sender's scope (graceful shutdown); resolves when it has stopped. */
  readonly stop: () => Promise<void>
}

const startSender = async (
  overrides: Partial<OutboxSender.OutboxSenderOptions> = {},
  logger?: Logger.Logger<unknown, void>,
): Promise<Started> => {
  senderNumber += 1
  const options: OutboxSender.OutboxSenderOptions = {
    name: `test-${senderNumber}`,
    kinds: ALL_KINDS,
    token: Redacted.make(TOKEN),
    apiRoot: fake.apiRoot,
    rate: 200,
    concurrency: 3,
    lease: "10 seconds",
    timeout: "2 seconds",
    pollInterval: "100 millis",
    retryBase: "50 millis",
    retryMax: "400 millis",
    shutdownTimeout: "2 seconds",
    statsInterval: "100 millis",
    ...overrides,
  }
  const scope = await runtime.runPromise(Scope.make())
  const make = OutboxSender.make(options)
  await runtime.runPromise(
    Scope.extend(
      logger === undefined
        ? make
        : make.pipe(Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Info)),
      scope,
    ),
  )
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= runtime.runPromise(Scope.close(scope, Exit.void))
    return stopped
  }
  running.push(stop)
  return { name: options.name, stop }
}

const waitFor = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

const counts = () => run(statusCounts)
const allSent = (n: number) => async () => (await counts()).sent === n

const rows = () =>
  run(Database.query((db) => db.select().from(deliveries).orderBy(asc(deliveries.id))))

const counter = async (metric: Metric.Metric.Counter<number>, sender: string, kind?: string) => {
  const bySender = Metric.tagged(metric, "sender", sender)
  const state = await Effect.runPromise(
    Metric.value(kind === undefined ? bySender : Metric.tagged(bySender, "kind", kind)),
  )
  return state.count
}

/** Listing ids named in delivered texts ("Flat L3" -> "L3"), per chat, in delivery order. */
const deliveredListings = (chatId: number) =>
  fake.limits.deliveredTo(chatId).map((m) => /Flat (\w+)/.exec(m.text)?.[1] ?? m.text)

describe("sending", () => {
  test("1,000 alerts to 200 users: each sent once, in order per chat, no 429 below the limit", async () => {
    fake.limits.rateLimit({ global: 250, perChat: 1 })
    const userIds = await run(seedUsers(1000, 200))
    const listingIds = await run(
      seedListings([
        { photos: ["https://img.test/0.jpg"] },
        {},
        { photos: ["https://img.test/2.jpg"] },
        {},
        {},
      ]),
    )
    expect(await run(queueAlerts(listingIds, userIds))).toBe(1000)
    const sender = await startSender({ rate: 200 })
    await waitFor("1,000 sent", allSent(1000), 30_000)

    expect(fake.limits.rateLimitedAnswers).toBe(0)
    expect(fake.calls.filter((c) => c.method.startsWith("send"))).toHaveLength(1000)
    expect(fake.limits.delivered).toHaveLength(1000)
    for (const userId of userIds) {
      expect(deliveredListings(userId)).toEqual(["L0", "L1", "L2", "L3", "L4"])
    }
    // Each row records the message Telegram created for it.
    const byChatAndMessage = new Map<string, (typeof fake.limits.delivered)[number]>(
      fake.limits.delivered.map((m) => [`${m.chatId}:${m.messageId}`, m]),
    )
    for (const row of await rows()) {
      expect(row.status).toBe("sent")
      expect(row.attempts).toBe(1)
      expect(row.sentAt).toBeInstanceOf(Date)
      const message = byChatAndMessage.get(`${row.chatId}:${row.telegramMessageId}`)
      expect(message?.text).toContain(`Flat L${listingIds.indexOf(row.listingId ?? -1)}`)
    }
    expect(fake.limits.delivered.filter((m) => m.method === "sendPhoto")).toHaveLength(400)
    expect(await counter(Metrics.sent, sender.name, "listing")).toBe(1000)
  }, 40_000)

  test("price drops and text payloads, in the recipient's language, with their buttons", async () => {
    await run(seedUsers(1, 1, "ru"))
    await run(seedUsers(2, 1, "en"))
    const [listingId = 0] = await run(seedListings([{ title: "Вид на море", price: 9_000 }]))
    await run(
      enqueue([
        {
          userId: 1,
          chatId: 1,
          kind: "price_drop",
          listingId,
          dedupeKey: `price_drop:1:${listingId}:9000`,
          payload: { oldPrice: 10_000, newPrice: 9_000 },
        },
        {
          userId: 2,
          chatId: 2,
          kind: "reminder",
          dedupeKey: "reminder:7:3d",
          payload: {
            text: "Your subscription ends in <b>3 days</b>",
            buttons: [[{ text: "Renew", callback_data: "renew:month" }]],
          },
        },
      ]),
    )
    await startSender()
    await waitFor("both sent", allSent(2))
    const [drop] = fake.limits.deliveredTo(1)
    expect(drop?.text).toContain("Цена снижена")
    expect(drop?.text).toContain(
      "Было 10\u00a0000\u00a0AED, стало 9\u00a0000\u00a0AED в месяц (−10%)",
    )
    expect(drop?.buttons.flat()).toContainEqual({
      text: "🔗 Открыть объявление",
      url: "https://listings.test/L0",
    })
    const [reminder] = fake.limits.deliveredTo(2)
    expect(reminder?.text).toBe("Your subscription ends in 3 days")
    expect(reminder?.buttons).toEqual([[{ text: "Renew", callback_data: "renew:month" }]])
  })

  test("a row inserted into an idle outbox is sent at once (NOTIFY), not at the next poll", async () => {
    await run(seedUsers(1, 1))
    const [listingId = 0] = await run(seedListings([{}]))
    await startSender({ pollInterval: "60 seconds" })
    // The sender's first claim (at start) found nothing; the next poll is a minute away.
    await Bun.sleep(100)
    await run(queueAlerts([listingId], [1]))
    await fake.limits.waitForDelivered(1, 5_000)
    await waitFor("the row marked sent", allSent(1), 5_000)
  })
})

describe("Telegram's answers", () => {
  test("429: the whole sender pauses for retry_after, resumes, nothing lost or sent twice", async () => {
    const userIds = await run(seedUsers(1, 20))
    const listingIds = await run(seedListings([{}]))
    await run(queueAlerts(listingIds, userIds))
    let sends = 0
    fake.limits.fault((ctx) => ctx.method.startsWith("send") && ++sends === 5, {
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 1",
      parameters: { retry_after: 1 },
    })
    const sender = await startSender()
    await waitFor("20 sent", allSent(20))

    const sendCalls = fake.calls.filter((c) => c.method.startsWith("send"))
    expect(sendCalls).toHaveLength(21)
    const limited = sendCalls[4]
    if (limited === undefined) throw new Error("no 5th call")
    // Calls already in flight may land just after; nothing new starts during the pause.
    const after = sendCalls.slice(5 + 3)
    for (const call of after) expect(call.at).toBeGreaterThanOrEqual(limited.at + 950)
    for (const userId of userIds) expect(fake.limits.deliveredTo(userId)).toHaveLength(1)
    const all = await rows()
    expect(all.every((r) => r.status === "sent" && r.attempts === 1 && r.lastError === null)).toBe(
      true,
    )
    expect(await counter(Metrics.rateLimited, sender.name)).toBe(1)
  })

  test("a sender faster than Telegram allows gets 429s, waits them out, loses nothing", async () => {
    fake.limits.rateLimit({ global: 20, perChat: 1 })
    const userIds = await run(seedUsers(1, 60))
    await run(queueAlerts(await run(seedListings([{}])), userIds))
    const sender = await startSender({ rate: 60 })
    await waitFor("60 sent", allSent(60), 20_000)
    expect(fake.limits.rateLimitedAnswers).toBeGreaterThan(0)
    expect(fake.limits.delivered).toHaveLength(60)
    for (const userId of userIds) expect(fake.limits.deliveredTo(userId)).toHaveLength(1)
    expect(await counter(Metrics.rateLimited, sender.name)).toBe(fake.limits.rateLimitedAnswers)
    expect((await counts()).failed).toBe(0)
  })

  test("403: the user is marked blocked, their other rows cancelled, never retried", async () => {
    await run(seedUsers(1, 3))
    await run(
      Database.query((db) =>
        db.update(users).set({ blockedAt: new Date() }).where(eq(users.id, 3)),
      ),
    )
    const listingIds = await run(seedListings([{}, {}, {}]))
    await run(queueAlerts(listingIds, [1, 2]))
    await run(queueAlerts(listingIds.slice(0, 1), [3]))
    fake.limits.blockChat(1)
    const sender = await startSender()
    await waitFor("user 2 served", allSent(3))
    await waitFor("user 1's rows settled", async () => (await counts()).cancelled === 4)

    expect(fake.sentTo(1)).toHaveLength(1) // the one 403, no retries
    expect(fake.sentTo(3)).toHaveLength(0) // blocked before: cancelled without a call
    expect(fake.limits.deliveredTo(2)).toHaveLength(3)
    const [user1] = await run(
      Database.query((db) => db.select().from(users).where(eq(users.id, 1))),
    )
    expect(user1?.blockedAt).toBeInstanceOf(Date)
    const user1Rows = (await rows()).filter((r) => r.userId === 1)
    expect(user1Rows.map((r) => r.status)).toEqual(["cancelled", "cancelled", "cancelled"])
    expect(
      user1Rows.some((r) => r.lastError === "403: Forbidden: bot was blocked by the user"),
    ).toBe(true)
    expect(await counter(Metrics.blockedUsers, sender.name)).toBe(1)
    // Later messages are not even tried.
    await Bun.sleep(300)
    expect(fake.sentTo(1)).toHaveLength(1)
  })

  test("a photo Telegram cannot fetch: the alert is delivered as text", async () => {
    await run(seedUsers(1, 1))
    const listingIds = await run(seedListings([{ photos: ["https://img.test/broken.jpg"] }]))
    fake.limits.breakPhoto("https://img.test/broken.jpg")
    await run(queueAlerts(listingIds, [1]))
    const sender = await startSender()
    await waitFor("sent", allSent(1))
    expect(fake.sentTo(1).map((c) => c.method)).toEqual(["sendPhoto", "sendMessage"])
    const [message] = fake.limits.deliveredTo(1)
    expect(message?.method).toBe("sendMessage")
    expect(message?.text).toContain("Flat L0")
    const [row] = await rows()
    expect(row?.telegramMessageId).toBe(message?.messageId ?? -1)
    expect(await counter(Metrics.photoFallbacks, sender.name, "listing")).toBe(1)
  })

  test("a title with <b>, & and </a> is delivered escaped: the user sees it literally", async () => {
    await run(seedUsers(1, 1))
    const title = `<b>Luxury</b> & "cosy" </a> flat`
    await run(
      queueAlerts(await run(seedListings([{ title, photos: ["https://img.test/1.jpg"] }])), [1]),
    )
    await startSender()
    await waitFor("sent", allSent(1))
    const [message] = fake.limits.deliveredTo(1)
    expect(message?.text.split("\n")[0]).toBe(title)
    expect(message?.raw).toContain(
      "&lt;b&gt;Luxury&lt;/b&gt; &amp; &quot;cosy&quot; &lt;/a&gt; flat",
    )
  })

  test("400 can't parse entities: sent as plain text and logged as a bug", async () => {
    await run(seedUsers(1, 1))
    await run(
      enqueue([
        {
          userId: 1,
          chatId: 1,
          kind: "notice",
          dedupeKey: "notice:1:broken",
          payload: { text: "<b>Renew now" },
        },
      ]),
    )
    const logged: string[] = []
    const capture = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (logLevel._tag === "Error")
        logged.push(String(Array.isArray(message) ? message[0] : message))
    })
    const sender = await startSender({}, capture)
    await waitFor("sent", allSent(1))
    const calls = fake.sentTo(1)
    expect(calls.map((c) => c.params.parse_mode)).toEqual(["HTML", undefined])
    expect(fake.limits.deliveredTo(1).map((m) => m.text)).toEqual(["Renew now"])
    expect(logged.some((l) => l.startsWith("BUG: Telegram could not parse the HTML"))).toBe(true)
    expect(await counter(Metrics.badHtml, sender.name, "notice")).toBe(1)
  })

  test("any other 400: failed at once, with Telegram's error kept", async () => {
    await run(seedUsers(1, 1))
    await run(
      enqueue([
        {
          userId: 1,
          chatId: 1,
          kind: "broadcast",
          dedupeKey: "broadcast:1:1",
          payload: { text: "x".repeat(5000) },
        },
      ]),
    )
    const sender = await startSender()
    await waitFor("failed", async () => (await counts()).failed === 1)
    const [row] = await rows()
    expect(row?.lastError).toBe("400: Bad Request: message is too long")
    expect(row?.attempts).toBe(1)
    expect(fake.sentTo(1)).toHaveLength(1)
    expect(await counter(Metrics.failed, sender.name, "broadcast")).toBe(1)
  })

  test("a row that is not what its kind needs fails with the reason, without a call", async () => {
    await run(seedUsers(1, 1))
    await run(enqueue([{ userId: 1, chatId: 1, kind: "listing", dedupeKey: "listing:1:none" }]))
    await run(
      enqueue([
        {
          userId: 1,
          chatId: 1,
          kind: "notice",
          dedupeKey: "notice:1:bad",
          payload: { oldPrice: 1, newPrice: 2 },
        },
      ]),
    )
    await startSender()
    await waitFor("both failed", async () => (await counts()).failed === 2)
    expect((await rows()).map((r) => r.lastError)).toEqual([
      "the listing no longer exists",
      "the payload is not a TextPayload { text, buttons? }",
    ])
    expect(fake.sentTo(1)).toHaveLength(0)
  })

  test("5xx and non-JSON answers are retried with backoff; the chat keeps its order", async () => {
    await run(seedUsers(1, 1))
    await run(queueAlerts(await run(seedListings([{}, {}, {}])), [1]))
    fake.limits.failNext(1, 502)
    fake.limits.nonJsonNext(1)
    const sender = await startSender({ chatRate: 20 })
    await waitFor("3 sent", allSent(3))
    expect(deliveredListings(1)).toEqual(["L0", "L1", "L2"])
    const [first] = await rows()
    expect(first?.attempts).toBe(3)
    expect(first?.lastError).toBe("the answer is not Bot API JSON")
    expect(await counter(Metrics.retried, sender.name, "listing")).toBe(2)
  })

  test("persistent 5xx: failed after the maximum number of attempts", async () => {
    await run(seedUsers(1, 1))
    await run(queueAlerts(await run(seedListings([{}])), [1]))
    fake.limits.failNext(100, 500, "Internal Server Error")
    await startSender({ maxAttempts: 3 })
    await waitFor("failed", async () => (await counts()).failed === 1)
    const [row] = await rows()
    expect(row?.attempts).toBe(3)
    expect(row?.lastError).toBe("gave up after 3 attempts: 500: Internal Server Error")
    expect(fake.sentTo(1)).toHaveLength(3)
  })

  test("no answer within the timeout: the call is abandoned and retried", async () => {
    await run(seedUsers(1, 1))
    await run(queueAlerts(await run(seedListings([{}])), [1]))
    let slowOnce = true
    fake.limits.slowAnswers(3_000, () => {
      const slow = slowOnce
      slowOnce = false
      return slow
    })
    await startSender({ timeout: "300 millis", lease: "2 seconds" })
    await waitFor("sent", allSent(1))
    const [row] = await rows()
    expect(row?.attempts).toBe(2)
    expect(row?.lastError).toBe("no answer within 300 ms")
    // Telegram did show the first one: a timeout is where duplicates can come from.
    expect(fake.limits.deliveredTo(1)).toHaveLength(2)
  })

  test("a rejected token pauses sending and fails nothing; it resumes with a good token", async () => {
    await run(seedUsers(1, 1))
    await run(queueAlerts(await run(seedListings([{}])), [1]))
    fake.rejectToken(TOKEN)
    const errors: string[] = []
    const capture = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (logLevel._tag === "Error")
        errors.push(String(Array.isArray(message) ? message[0] : message))
    })
    await startSender({}, capture)
    await waitFor("the operator told", () => errors.some((e) => e.includes("check BOT_TOKEN")))
    expect(errors[0]).toContain("the Bot API rejected the bot token (401: Unauthorized)")
    expect(errors[0]).not.toContain(TOKEN)
    expect((await counts()).failed).toBe(0)
    fake.acceptToken(TOKEN)
    await waitFor("sent", allSent(1))
    expect((await rows())[0]?.attempts).toBe(1)
  })
})

describe("leases, concurrency and shutdown", () => {
  test("rows whose lease expired (their sender died) are claimed again", async () => {
    await run(seedUsers(1, 2))
    await run(queueAlerts(await run(seedListings([{}])), [1, 2]))
    const past = new Date(Date.now() - 1_000)
    await run(
      Database.query((db) => db.update(deliveries).set({ status: "sending", leaseUntil: past })),
    )
    await run(
      Database.query((db) =>
        db.update(deliveries).set({ attempts: 7 }).where(eq(deliveries.userId, 2)),
      ),
    )
    await startSender({ maxAttempts: 8 })
    await waitFor("settled", async () => {
      const c = await counts()
      return c.sent === 1 && c.failed === 1
    })
    const [one, two] = await rows()
    expect(one?.status).toBe("sent")
    expect(one?.attempts).toBe(2) // the lost attempt counts
    expect(two?.status).toBe("failed") // its 8th attempt was the lost one
    expect(two?.lastError).toBe("its sender stopped before finishing (lease expired)")
    expect(fake.sentTo(2)).toHaveLength(0)
  })

  test("two senders on one outbox never send a row twice", async () => {
    const userIds = await run(seedUsers(1, 100))
    await run(queueAlerts(await run(seedListings([{}, {}, {}])), userIds))
    const a = await startSender({ batchSize: 10, rate: 150 })
    const b = await startSender({ batchSize: 10, rate: 150 })
    await waitFor("300 sent", allSent(300))
    const seen = new Set<string>()
    for (const m of fake.limits.delivered) {
      const key = `${m.chatId}:${m.text}`
      expect(seen.has(key)).toBe(false)
      seen.add(key)
    }
    expect(seen.size).toBe(300)
    expect(await counter(Metrics.sent, a.name, "listing")).toBeGreaterThan(0)
    expect(await counter(Metrics.sent, b.name, "listing")).toBeGreaterThan(0)
  })

  test("shutdown mid-backlog: in-flight sends finish, the rest returns to pending, within the deadline", async () => {
    const userIds = await run(seedUsers(1, 200))
    await run(queueAlerts(await run(seedListings([{}])), userIds))
    fake.limits.slowAnswers(200)
    const sender = await startSender({ shutdownTimeout: "2 seconds" })
    await fake.limits.waitForDelivered(10)
    const began = performance.now()
    await sender.stop()
    const took = performance.now() - began
    expect(took).toBeLessThan(2_000)
    const c = await counts()
    expect(c.sending).toBe(0)
    // Every message Telegram showed is recorded as sent: in-flight sends were let finish.
    expect(c.sent).toBe(fake.limits.delivered.length)
    expect(c.pending).toBe(200 - c.sent)
    expect(
      (await rows()).filter((r) => r.status === "pending").every((r) => r.attempts === 0),
    ).toBe(true)
  })

  test("shutdown with sends stuck past the deadline: they are aborted and returned to pending", async () => {
    const userIds = await run(seedUsers(1, 20))
    await run(queueAlerts(await run(seedListings([{}])), userIds))
    fake.limits.slowAnswers(10_000)
    const sender = await startSender({
      shutdownTimeout: "500 millis",
      timeout: "20 seconds",
      lease: "60 seconds",
    })
    await fake.limits.waitForDelivered(3)
    const began = performance.now()
    await sender.stop()
    expect(performance.now() - began).toBeLessThan(1_500)
    const c = await counts()
    expect(c.sending).toBe(0)
    expect(c.sent).toBe(0)
    expect(c.pending).toBe(20)
  })

  test("operator gauges: outbox depth and oldest pending age follow the backlog", async () => {
    await run(seedUsers(1, 1))
    await run(queueAlerts(await run(seedListings([{}, {}, {}])), [1]))
    const sender = await startSender({ chatRate: 2 })
    const gauge = async (metric: Metric.Metric.Gauge<number>) =>
      (await Effect.runPromise(Metric.value(Metric.tagged(metric, "sender", sender.name)))).value
    await waitFor("a backlog seen", async () => (await gauge(Metrics.outboxDepth)) >= 2)
    expect(await gauge(Metrics.oldestPendingSeconds)).toBeGreaterThanOrEqual(0)
    await waitFor("3 sent", allSent(3))
    await waitFor("depth back to 0", async () => (await gauge(Metrics.outboxDepth)) === 0)
    expect(await gauge(Metrics.oldestPendingSeconds)).toBe(0)
    expect(await counter(Metrics.sent, sender.name, "listing")).toBe(3)
  })
})

describe("configuration", () => {
  const read = (
    env: Record<string, string>,
    preset: OutboxSender.SenderConfigOptions = OutboxSender.presets.parser,
  ) =>
    Effect.runPromise(
      Effect.either(
        OutboxSender.config(preset).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
        ),
      ),
    )

  test("defaults: parser 25 msg/s, subscriptions 4 msg/s, 3 in flight, 60 s lease", async () => {
    const parser = await read({ BOT_TOKEN: TOKEN })
    const subscriptions = await read({ BOT_TOKEN: TOKEN }, OutboxSender.presets.subscriptions)
    if (Either.isLeft(parser) || Either.isLeft(subscriptions)) throw new Error("config failed")
    expect(parser.right.rate).toBe(25)
    expect(subscriptions.right.rate).toBe(4)
    expect(parser.right.concurrency).toBe(3)
    expect(parser.right.apiRoot).toBe("https://api.telegram.org")
    expect(parser.right.kinds).toEqual(["listing", "price_drop", "admin_notice"])
  })

  test("a bad value fails naming the variable", async () => {
    const bad = await read({ BOT_TOKEN: TOKEN, PARSER_SEND_RATE: "fast" })
    expect(Either.isLeft(bad) && String(bad.left)).toContain("PARSER_SEND_RATE")
    const zero = await read({ BOT_TOKEN: TOKEN, SEND_CONCURRENCY: "0" })
    expect(Either.isLeft(zero) && String(zero.left)).toContain("SEND_CONCURRENCY")
    const lease = await read({
      BOT_TOKEN: TOKEN,
      SEND_LEASE: "10 seconds",
      TELEGRAM_TIMEOUT: "10 seconds",
    })
    expect(Either.isLeft(lease) && String(lease.left)).toContain("SEND_LEASE")
  })

  test("the presets own every delivery kind exactly once", () => {
    const owned = Object.values(OutboxSender.presets).flatMap((p) => [...p.kinds])
    expect(owned.toSorted()).toEqual([...ALL_KINDS].toSorted())
  })

  test("the NOTIFY trigger is installed by the migrations", async () => {
    const [trigger] = await run(
      Database.sql((s) => s`SELECT tgname FROM pg_trigger WHERE tgname = 'deliveries_notify'`),
    )
    expect(trigger?.tgname).toBe("deliveries_notify")
  })
})
