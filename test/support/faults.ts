/**
 * Helpers for the fault tests (`test/faults`): seed what users are waiting for, count what the
 * fake Telegram delivered per (chat, listing), and read what the runner tells an operator.
 *
 * The duplicate bound (DESIGN.md flow 3): "A crash re-sends at most the rows that were in
 * flight". A sender frees a send's slot only once its result is committed, so each crash of a
 * sender can re-send at most its `SEND_CONCURRENCY` messages; `duplicateBound` adds that up over
 * the senders that were running and the crashes they went through.
 */
import { Database } from "@flatwatch/db/Database"
import { queueAlerts, seedListings, seedUsers } from "@flatwatch/telegram/DeliveryFixtures"
import type { DeliveredMessage } from "@flatwatch/telegram/FakeBotApiLimits"
import { enqueue } from "@flatwatch/telegram/Outbox"
import { Effect, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import type { System } from "./system.ts"

/** A small `Database` runtime on the system's database, for seeding with the real code. */
export const seeder = (system: System) =>
  ManagedRuntime.make(
    Database.layer({
      url: Redacted.make(system.databaseUrl),
      // Not `flatwatch-...`: the fault tests kill those backends and must not kill their own.
      component: "x-fault-seeder",
      poolSize: 2,
    }),
  )

/**
 * A backlog of `users` x `listings` listing alerts (users `firstUser ..`, chat id = user id;
 * listings titled `Flat <prefix><i>`), queued as the matcher queues them. Returns the users.
 */
export const seedBacklog = async (
  system: System,
  options: {
    readonly firstUser: number
    readonly users: number
    readonly listings: number
    readonly prefix: string
  },
): Promise<ReadonlyArray<number>> => {
  const runtime = seeder(system)
  try {
    return await runtime.runPromise(
      Effect.gen(function* () {
        const userIds = yield* seedUsers(options.firstUser, options.users)
        const listingIds = yield* seedListings(
          Array.from({ length: options.listings }, () => ({})),
          options.prefix,
        )
        yield* queueAlerts(listingIds, userIds)
        return userIds
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    )
  } finally {
    await runtime.dispose()
  }
}

/** Queues one `notice` (the subscriptions sender's kind) per user, text `Notice <tag> <user>`. */
export const seedNotices = async (
  system: System,
  userIds: ReadonlyArray<number>,
  tag: string,
): Promise<number> => {
  const runtime = seeder(system)
  try {
    return await runtime.runPromise(
      enqueue(
        userIds.map((userId) => ({
          userId,
          chatId: userId,
          kind: "notice" as const,
          dedupeKey: `notice:${userId}:${tag}`,
          payload: { text: `Notice ${tag} ${userId}` },
        })),
      ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    )
  } finally {
    await runtime.dispose()
  }
}

/**
 * Users with an active search (Dubai, anything) and access for a year: every Bayut listing the
 * fake publishes reaches each of them.
 */
export const seedSubscribers = async (
  system: System,
  userIds: ReadonlyArray<number>,
): Promise<void> => {
  const now = system.now()
  await system.sql.begin(async (tx) => {
    for (const id of userIds) {
      await tx`insert into users (id, chat_id, first_name, language) values (${id}, ${id}, ${`Renter ${id}`}, 'en')`
      await tx`insert into filters (user_id, name, market) values (${id}, 'Anything in Dubai', 'dubai')`
      await tx`insert into subscriptions (user_id, plan, starts_at, ends_at, status)
               values (${id}, 'grant', ${new Date(now - 60_000)}, ${new Date(now + 365 * 86_400_000)}, 'active')`
    }
  })
}

/** What identifies an alert in a chat: the listing's link button, else the first line. */
const alertKey = (m: DeliveredMessage): string => {
  const url = m.buttons
    .flat()
    .map((b) => b.url)
    .find((u): u is string => typeof u === "string")
  return `${m.chatId}|${url ?? m.text.split("\n")[0]}`
}

/** How many times each (chat, alert) was delivered, over messages that satisfy `which`. */
export const sendsPerAlert = (
  system: System,
  which: (m: DeliveredMessage) => boolean = () => true,
): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const m of system.fake.limits.delivered) {
    if (!which(m)) continue
    const key = alertKey(m)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** Deliveries beyond the first of each (chat, alert). */
export const duplicatesOf = (counts: Map<string, number>): number => {
  let extra = 0
  for (const n of counts.values()) extra += n - 1
  return extra
}

/**
 * The most messages that may be delivered twice: each crash of a sender re-sends at most its
 * in-flight sends (`SEND_CONCURRENCY`).
 */
export const duplicateBound = (
  crashes: ReadonlyArray<{ readonly senders: number; readonly concurrency: number }>,
): number => crashes.reduce((sum, c) => sum + c.senders * c.concurrency, 0)

export interface OutboxCounts {
  readonly pending: number
  readonly sending: number
  readonly sent: number
  readonly failed: number
  readonly cancelled: number
}

/** Rows of `deliveries` by status. */
export const outboxCounts = async (system: System): Promise<OutboxCounts> => {
  const rows = await system.sql<{ status: keyof OutboxCounts; n: number }[]>`
    select status::text as status, count(*)::int as n from deliveries group by status`
  const counts = { pending: 0, sending: 0, sent: 0, failed: 0, cancelled: 0 }
  for (const r of rows) counts[r.status] = r.n
  return counts
}

/** `flatwatch_component_restarts_total` of each component, from the runner's /metrics. */
export const restarts = async (
  system: System,
  components: ReadonlyArray<string> = ["bot", "parser", "subscriptions"],
): Promise<Record<string, number | undefined>> => {
  const out: Record<string, number | undefined> = {}
  for (const c of components)
    out[c] = await system.metric("flatwatch_component_restarts_total", { component: c })
  return out
}

/**
 * Resolves once every row of the outbox is `sent` (and there are `expected` of them); fails
 * early, naming the rows, if any row ended `failed` or `cancelled`.
 */
export const waitAllSent = async (
  system: System,
  expected: number,
  timeoutMs: number,
): Promise<void> => {
  await system.waitFor(
    `all ${expected} deliveries to be sent`,
    async () => {
      const c = await outboxCounts(system)
      if (c.failed > 0 || c.cancelled > 0) {
        const bad = await system.sql`
          select id, kind::text, status::text, attempts, last_error from deliveries
          where status in ('failed', 'cancelled') limit 5`
        throw new Error(`deliveries were given up: ${JSON.stringify(c)} ${JSON.stringify(bad)}`)
      }
      return c.sent === expected ? true : undefined
    },
    timeoutMs,
  )
}
