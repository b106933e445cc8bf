/**
 * A process running the outbox sender is killed with SIGKILL in the middle of a backlog and
 * started again: every row is sent, and the duplicates are at most the sends that were in
 * flight (Telegram has no idempotency key; a row's send slot is freed only once its `sent` mark
 * is committed, so at most SEND_CONCURRENCY messages can be sent without a record).
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test"
import { join } from "node:path"
import { Database } from "@flatwatch/db/Database"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import type { Subprocess } from "bun"
import { Context, Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import { queueAlerts, seedListings, seedUsers, statusCounts } from "./DeliveryFixtures.ts"
import { FakeBotApi } from "./FakeBotApi.ts"

const TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
const CONCURRENCY = 3
const FIXTURE = join(import.meta.dir, "OutboxSender.fixture.ts")

class TestDb extends Context.Tag("TestDb")<TestDb, TestDatabase.TestDatabaseInstance>() {}
const testDb = Layer.scoped(TestDb, TestDatabase.make)
const database = Layer.scoped(
  Database,
  Effect.flatMap(TestDb, (db) => Database.make({ url: db.url, component: "crash-test" })),
)
const runtime = ManagedRuntime.make(
  database.pipe(
    Layer.provideMerge(testDb),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  ),
)

let fake: FakeBotApi
const processes: Subprocess[] = []

beforeAll(async () => {
  fake = await FakeBotApi.start({ tokens: [TOKEN] })
})
afterEach(() => {
  for (const p of processes.splice(0)) if (p.exitCode === null) p.kill("SIGKILL")
})
afterAll(async () => {
  await fake.stop()
  await runtime.dispose()
})

/** Starts the fixture and resolves once its sender runs. */
const startSenderProcess = async (): Promise<Subprocess<"ignore", "pipe", "pipe">> => {
  const db = await runtime.runPromise(TestDb)
  const child = Bun.spawn(["bun", FIXTURE], {
    env: {
      ...process.env,
      DATABASE_URL: Redacted.value(db.url),
      BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
      PARSER_SEND_RATE: "200",
      SEND_CONCURRENCY: String(CONCURRENCY),
      SEND_LEASE: "3 seconds",
      TELEGRAM_TIMEOUT: "1 second",
      SEND_POLL_INTERVAL: "200 millis",
      SEND_RETRY_BASE: "100 millis",
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  processes.push(child)
  const reader = child.stdout.getReader()
  let out = ""
  const deadline = Date.now() + 20_000
  while (!out.includes("ready\n")) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now()))])
    if (chunk === undefined || chunk.done) {
      const stderr = await new Response(child.stderr).text()
      throw new Error(`the sender process did not start: ${out}${stderr}`)
    }
    out += new TextDecoder().decode(chunk.value)
  }
  reader.releaseLock()
  return child
}

test("SIGKILL mid-backlog: after a restart every row is sent, duplicates at most the sends in flight", async () => {
  fake.limits.rateLimit({ global: 300, perChat: 1 })
  const userIds = await runtime.runPromise(seedUsers(1, 200))
  const listingIds = await runtime.runPromise(seedListings([{}, {}, {}, {}, {}]))
  expect(await runtime.runPromise(queueAlerts(listingIds, userIds))).toBe(1000)

  const first = await startSenderProcess()
  await fake.limits.waitForDelivered(300)
  first.kill("SIGKILL")
  await first.exited
  const atCrash = await runtime.runPromise(statusCounts)
  expect(atCrash.sent).toBeGreaterThanOrEqual(250)
  expect(atCrash.sent).toBeLessThan(1000)

  await startSenderProcess()
  const deadline = Date.now() + 40_000
  while ((await runtime.runPromise(statusCounts)).sent < 1000) {
    if (Date.now() > deadline) throw new Error("the restarted sender did not finish the backlog")
    await Bun.sleep(50)
  }

  const final = await runtime.runPromise(statusCounts)
  expect(final).toEqual({ pending: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 })
  const perAlert = new Map<string, number>()
  for (const m of fake.limits.delivered) {
    const key = `${m.chatId}:${m.text.split("\n")[0]}`
    perAlert.set(key, (perAlert.get(key) ?? 0) + 1)
  }
  expect(perAlert.size).toBe(1000) // every alert arrived
  const duplicates = fake.limits.delivered.length - perAlert.size
  expect(duplicates).toBeLessThanOrEqual(CONCURRENCY)
}, 60_000)
