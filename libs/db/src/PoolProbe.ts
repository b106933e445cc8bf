/**
 * Watches a component's pool from the inside: a `select 1` every couple of seconds, through the
 * same pool the component's queries use. When none has succeeded for `deadline`, the pool is
 * stalled (every connection stuck, or the server gone) and the probe says so. It is registered
 * with the component's host (`ComponentHealth`).
 */
import { Duration, Effect, Schedule, type Scope } from "effect"
import { registerProbe } from "./ComponentHealth.ts"
import { Database } from "./Database.ts"

const INTERVAL = Duration.seconds(2)

/** Starts the probe in the current scope (it stops with it). */
export const watchPool = (
  deadline: Duration.DurationInput,
): Effect.Effect<void, never, Database | Scope.Scope> =>
  Effect.gen(function* () {
    const database = yield* Database
    const limitMs = Duration.toMillis(deadline)
    // Real time, not the component's Clock (which a business-clock offset may move).
    let lastOkAt = Date.now()
    let waitingSince: number | undefined
    // One probe query at a time: while one waits, the next tick does not queue another.
    const tick = Effect.gen(function* () {
      if (waitingSince !== undefined) return
      waitingSince = Date.now()
      yield* Effect.promise(() =>
        database.sql`select 1`.then(
          () => {
            lastOkAt = Date.now()
          },
          () => {},
        ),
      ).pipe(Effect.ensuring(Effect.sync(() => (waitingSince = undefined))), Effect.fork)
    })
    yield* tick.pipe(Effect.repeat(Schedule.spaced(INTERVAL)), Effect.forkScoped)
    yield* registerProbe(() => {
      const silentMs = Date.now() - lastOkAt
      return silentMs > limitMs
        ? `database pool: no query has succeeded for ${Math.round(silentMs / 1000)} s`
        : undefined
    })
  })
