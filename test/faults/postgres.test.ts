/**
 * Faults of PostgreSQL while every component runs, each on its own system, side by side (the
 * restart spends most of its time waiting out the outage):
 *
 * - every connection of every component is killed (`pg_terminate_backend`, as a failover, a
 *   pooler restart or an admin would), again and again, while alerts flow and a user talks to
 *   the bot;
 * - PostgreSQL is stopped for 10 seconds and started again on the same port and data. This runs
 *   on an embedded PostgreSQL the test starts itself; the machine's shared server is never
 *   stopped.
 *
 * Expected: no component crashes or restart-loops (the runner's restart counters stay 0). A
 * statement cut off fails with a connection error and is retried, or its work is redone (a
 * parser run that could not store is recorded as failed and read again, the cursor unmoved; a
 * claim or a result write is retried); pools open new connections (every 2-4 s at most while the
 * server is away); the outbox LISTEN reconnects. Meanwhile the log says what is wrong at a sane
 * rate and the bot apologises to a user it cannot serve. Every alert arrives, none twice.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { rmSync } from "node:fs"
import { join } from "node:path"
import * as EmbeddedPostgres from "@flatwatch/db/EmbeddedPostgres"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"
import {
  duplicatesOf,
  outboxCounts,
  restarts,
  seedSubscribers,
  sendsPerAlert,
} from "../support/faults.ts"
import { freePort } from "../support/runner.ts"
import { System, visible } from "../support/system.ts"

setDefaultTimeout(120_000)

const systems: System[] = []
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  await Promise.all(systems.map((s) => s.stop()))
  for (const cleanup of cleanups) await cleanup()
})

/** Counts the sent alerts of `system` until there are `expected`. */
const waitForSent = (system: System, expected: number, timeoutMs = 45_000) =>
  system.waitFor(
    `${expected} alerts sent`,
    async () => ((await outboxCounts(system)).sent === expected ? true : undefined),
    timeoutMs,
  )

test.concurrent("connections killed again and again while alerts flow: no restart, every alert once, the bot answers", async () => {
  const SUBSCRIBERS = [20_001, 20_002, 20_003, 20_004]
  const ROUNDS = 4
  const system = await System.start()
  systems.push(system)
  await seedSubscribers(system, SUBSCRIBERS)
  await system.startRunner()

  /** Kills every backend of the runner's components, on this test's database only. */
  const killComponentConnections = async (): Promise<number> => {
    const rows = await system.sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = current_database() and application_name like 'flatwatch-%'`
    for (const { pid } of rows) await system.sql`select pg_terminate_backend(${pid})`
    return rows.length
  }

  const renter = system.user(SUBSCRIBERS[0] ?? 0, { language_code: "en" })
  expect(visible(await renter.send("/start"))).toContain("Flatwatch")
  const published: string[] = []
  const killed: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const ids = [0, 1, 2].map((i) => String(81_000 + round * 10 + i))
    system.publish(
      ...ids.map((id) => ({ id, title: `Kill round ${round} flat ${id}`, price: 7_000 })),
    )
    published.push(...ids)
    killed.push(await killComponentConnections())
    // The bot answers right after its connections were cut (its statements are retried).
    // The renter is a subscriber: the alerts of this round may come before the answer.
    const help = await renter.send("/help", undefined, (m) => m.method === "sendMessage")
    expect(visible(help)).toContain("/filters")
  }
  // Every round found connections to kill: the pools had reconnected in between.
  expect(Math.min(...killed)).toBeGreaterThan(0)

  const expected = published.length * SUBSCRIBERS.length
  await waitForSent(system, expected)
  await system.waitForStored(published)
  const counts = sendsPerAlert(system, (m) => m.method === "sendPhoto")
  expect(counts.size).toBe(expected)
  expect(duplicatesOf(counts)).toBe(0)
  expect(await outboxCounts(system)).toMatchObject({ sent: expected, failed: 0, cancelled: 0 })
  expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
  const errors = system.errorsLogged().map((e) => e.split("\n")[0])
  console.info(
    `[fault pg-terminate] ${ROUNDS} rounds killed ${killed.join(", ")} backends; ${expected} alerts sent once each; ` +
      `restarts 0; ${errors.length} error lines${errors.length > 0 ? `: ${[...new Set(errors)].join(" | ")}` : ""}`,
  )
})

test.concurrent("PostgreSQL down for 10 s: components wait it out without crashing; the listing published meanwhile reaches everyone once", async () => {
  const OUTAGE_MS = 10_000
  const SUBSCRIBERS = [30_001, 30_002, 30_003]
  const dir = EmbeddedPostgres.makeTempDir("flatwatch-fault-pg-")
  const dataDir = join(dir, "data")
  const port = freePort()
  let pg: { scope: Scope.CloseableScope; pid: number } | undefined

  /** Starts (or starts again) the test's own PostgreSQL on `port` with `dataDir`. */
  const startPostgres = async () => {
    const scope = Effect.runSync(Scope.make())
    const instance = await Effect.runPromise(
      EmbeddedPostgres.start({ dataDir, port, database: "flatwatch" }).pipe(
        Scope.extend(scope),
        Logger.withMinimumLogLevel(LogLevel.Warning),
      ),
    )
    pg = { scope, pid: instance.pid }
    return Redacted.value(instance.url)
  }
  /** Fast shutdown (SIGINT), as `pg_ctl stop -m fast` or a failover does; waits for the exit. */
  const stopPostgres = async () => {
    const current = pg
    pg = undefined
    if (current !== undefined) await Effect.runPromise(Scope.close(current.scope, Exit.void))
  }
  cleanups.push(async () => {
    const left = pg
    // Stopped by its own pid if closing its scope fails.
    await stopPostgres().catch(() => {
      if (left !== undefined) process.kill(left.pid, "SIGQUIT")
    })
    rmSync(dir, { recursive: true, force: true })
  })

  const system = await System.start({ databaseUrl: await startPostgres() })
  systems.push(system)
  await system.startRunner() // migrates the new database
  await seedSubscribers(system, SUBSCRIBERS)
  const renter = system.user(SUBSCRIBERS[0] ?? 0, { language_code: "en" })
  expect(visible(await renter.send("/start"))).toContain("Flatwatch")
  system.publish({ id: "91001", title: "Before the outage", price: 7_500 })
  await waitForSent(system, SUBSCRIBERS.length)

  const logsBefore = system.logs().length
  const downAt = Date.now()
  await stopPostgres()
  system.publish({ id: "91002", title: "During the outage", price: 7_600 })
  // The bot still polls Telegram; a user it cannot serve without its database gets an answer.
  const during = await renter.send("/help", 20_000)
  await Bun.sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)))
  const outageLogs = system.logs().slice(logsBefore)
  await startPostgres()
  const upAt = Date.now()

  await waitForSent(system, 2 * SUBSCRIBERS.length, 60_000)
  const recoveredMs = Date.now() - upAt
  expect(visible(await renter.send("/help"))).toContain("/filters")
  const counts = sendsPerAlert(system, (m) => m.method === "sendPhoto")
  expect(counts.size).toBe(2 * SUBSCRIBERS.length)
  expect(duplicatesOf(counts)).toBe(0)
  expect(await outboxCounts(system)).toMatchObject({ failed: 0, cancelled: 0 })
  expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })

  // Waiting, not spinning: each component says what is wrong a few times, not in a loop.
  const byComponent = new Map<string, number>()
  for (const l of outageLogs.filter((l) => l.logLevel !== "INFO")) {
    const key = `${l.annotations?.component ?? "?"} ${l.logLevel}`
    byComponent.set(key, (byComponent.get(key) ?? 0) + 1)
  }
  for (const n of byComponent.values()) expect(n).toBeLessThanOrEqual((2 * OUTAGE_MS) / 1000)
  expect(outageLogs.some((l) => l.message.includes("ECONNREFUSED"))).toBe(true)
  console.info(
    `[fault pg-restart] down ${OUTAGE_MS} ms; meanwhile the bot answered “${visible(during).slice(0, 50)}…”; ` +
      `warnings and errors logged during the outage: ${JSON.stringify(Object.fromEntries(byComponent))}; ` +
      `the alerts of the listing published meanwhile were sent ${recoveredMs} ms after PostgreSQL was back`,
  )
})
