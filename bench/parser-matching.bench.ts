/**
 * Matching new listings against 50,000 active filters of 20,000 subscribed users, in a fresh
 * database: the one `INSERT INTO deliveries ... SELECT ... ON CONFLICT DO NOTHING` that queues
 * the alerts (Matching.queueListingAlerts), each round in a transaction that is rolled back.
 *   - 500 new listings (a backlog batch; the target: < 250 ms)
 *   - 10 new listings (a normal two-minute Bayut run)
 * for two kinds of filters (see support/MatchingData.ts): `narrow` (tens of users per listing)
 * and `broad` (hundreds). The time depends on how many alerts come out, so that is printed too.
 * Run: bun bench/parser-matching.bench.ts
 */
import { Database } from "@flatwatch/db/Database"
import { countListingMatches, queueListingAlerts } from "@flatwatch/parser/Matching"
import { Effect, ManagedRuntime } from "effect"
import * as BenchDatabase from "./support/BenchDatabase.ts"
import { buildMatchingData, type FilterProfile } from "./support/MatchingData.ts"

const counts = { users: 20_000, filters: 50_000, listings: 500 }
const now = new Date()

class Rollback {
  constructor(
    readonly ms: number,
    readonly queued: number,
  ) {}
}

/** One matching, timed, then rolled back so that every round starts from the same state. */
const round = (ids: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const started = performance.now()
    const queued = yield* queueListingAlerts(ids, now)
    return yield* Effect.fail(new Rollback(performance.now() - started, queued))
  }).pipe(
    Database.transaction,
    Effect.flip,
    Effect.flatMap((r) => (r instanceof Rollback ? Effect.succeed(r) : Effect.die(r))),
  )

const median = (xs: ReadonlyArray<number>) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const scenario = (profile: FilterProfile) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    const { listingIds } = yield* buildMatchingData(counts, now, profile)
    console.log(
      `\n${profile} filters: ${counts.users} users, ${counts.filters} filters, ${counts.listings} listings (built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    )

    const computeTimes: Array<number> = []
    let pairs = 0
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      pairs = yield* countListingMatches(listingIds, now)
      computeTimes.push(performance.now() - started)
    }
    console.log(
      `500 listings x 50,000 filters, matching only (the SELECT, no insert): median ${median(computeTimes).toFixed(0)} ms for ${pairs} (user, listing) pairs`,
    )
    const batch = yield* round(listingIds)
    console.log(
      `500 listings x 50,000 filters, matching and queuing: ${batch.ms.toFixed(0)} ms, ${batch.queued} alerts queued (${((batch.ms / Math.max(1, batch.queued)) * 1000).toFixed(1)} us per alert); target < 250 ms`,
    )

    const smallCompute: Array<number> = []
    for (let i = 0; i < 10; i++) {
      const started = performance.now()
      yield* countListingMatches(listingIds.slice(i * 10, i * 10 + 10), now)
      smallCompute.push(performance.now() - started)
    }
    const small: Array<Rollback> = []
    for (let i = 0; i < 10; i++) small.push(yield* round(listingIds.slice(i * 10, i * 10 + 10)))
    console.log(
      `10 listings x 50,000 filters: matching only median ${median(smallCompute).toFixed(1)} ms; matching and queuing median ${median(small.map((r) => r.ms)).toFixed(1)} ms over ${small.length} rounds, median ${median(small.map((r) => r.queued))} alerts queued`,
    )
  })

for (const profile of ["narrow", "broad"] as const) {
  const runtime = ManagedRuntime.make(BenchDatabase.layer(`bench-matching-${profile}`))
  await runtime.runPromise(scenario(profile)).finally(() => runtime.dispose())
}
