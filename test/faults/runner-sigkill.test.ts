/**
 * Fault: the whole runner is killed (SIGKILL, as the OOM killer or a power cut would) in the
 * middle of a 2,000-alert backlog, then started again.
 *
 * Expected (DESIGN.md flow 3): every alert is delivered, and the only messages sent twice are
 * ones that were in flight when the process died: at most SEND_CONCURRENCY of the parser's
 * sender, which owns listing alerts. Rows the dead process had claimed come back when their
 * lease (SEND_LEASE) expires.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import {
  duplicateBound,
  duplicatesOf,
  outboxCounts,
  restarts,
  seedBacklog,
  sendsPerAlert,
  waitAllSent,
} from "../support/faults.ts"
import { System } from "../support/system.ts"

setDefaultTimeout(120_000)

const USERS = 400
const LISTINGS = 5
const BACKLOG = USERS * LISTINGS
const CONCURRENCY = 3

let system: System

beforeAll(async () => {
  system = await System.start({
    env: {
      // The fake is not Telegram: a high rate keeps the test short; pacing is tested elsewhere.
      PARSER_SEND_RATE: "500",
      SEND_CONCURRENCY: String(CONCURRENCY),
      // Rows the killed process held come back after their lease.
      SEND_LEASE: "6 seconds",
      TELEGRAM_TIMEOUT: "2 seconds",
    },
  })
})
afterAll(async () => {
  await system?.stop()
})

test("SIGKILL mid-backlog: after a restart all 2,000 alerts arrive; duplicates only from sends in flight", async () => {
  await seedBacklog(system, { firstUser: 10_001, users: USERS, listings: LISTINGS, prefix: "K" })
  expect((await outboxCounts(system)).pending).toBe(BACKLOG)

  await system.startRunner()
  await system.fake.limits.waitForDelivered(BACKLOG / 4, 60_000)
  const killed = await system.stopRunner("SIGKILL")
  expect(killed.code).not.toBe(0)
  const atCrash = await outboxCounts(system)
  const deliveredAtCrash = system.fake.limits.delivered.length
  // In the middle: some sent, most not, and the dead process still holds claimed rows.
  expect(atCrash.sent).toBeGreaterThan(0)
  expect(atCrash.sent).toBeLessThan(BACKLOG)
  expect(atCrash.sending).toBeGreaterThan(0)

  const restartedAt = performance.now()
  await system.startRunner()
  await waitAllSent(system, BACKLOG, 90_000)
  const recoveryMs = performance.now() - restartedAt

  const counts = sendsPerAlert(system)
  expect(counts.size).toBe(BACKLOG) // every (chat, listing) arrived
  // The crash is the only cause of duplicates here: no send timed out (a timeout is another,
  // documented one: Telegram may have shown a message whose answer never came).
  expect(system.logs().filter((l) => l.message.includes("no answer within"))).toEqual([])
  const duplicates = duplicatesOf(counts)
  const bound = duplicateBound([{ senders: 1, concurrency: CONCURRENCY }])
  expect(duplicates).toBeLessThanOrEqual(bound)
  // The restarted runner ran its workers without a crash.
  expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
  expect(await outboxCounts(system)).toEqual({
    pending: 0,
    sending: 0,
    sent: BACKLOG,
    failed: 0,
    cancelled: 0,
  })
  console.info(
    `[fault sigkill] at the kill: ${atCrash.sent} rows sent, ${atCrash.sending} claimed, ${deliveredAtCrash} delivered; ` +
      `after the restart all ${BACKLOG} sent in ${Math.round(recoveryMs)} ms; duplicates ${duplicates} (bound ${bound})`,
  )
})
