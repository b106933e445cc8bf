/**
 * Watches a component's pool from the inside: a `select 1` every couple of seconds, through the
 * same pool the component's queries use. A probe that has waited longer than `deadline` for an
 * answer means the pool is stalled (every connection stuck, or the queue not moving) and the
 * probe says so; it is registered with the component's host (`ComponentHealth`). A probe that
 * fails (the server is down) is an answer, not a stall: pools reconnect by themselves, and the
 * components report the outage in their own logs.
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
    let waitingSince: number | undefined
    // One probe query at a time: while one waits, the next tick does not queue another.
    const tick = Effect.gen(function* () {
      if (waitingSince !== undefined) return
      waitingSince = Date.now()
      yield* Effect.tryPromise(() => database.sql`select 1`).pipe(
        Effect.tapError((e) => Effect.logDebug("pool probe failed", e)),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => (waitingSince = undefined))),
        Effect.fork,
      )
    })
    yield* tick.pipe(Effect.repeat(Schedule.spaced(INTERVAL)), Effect.forkScoped)
    yield* registerProbe(() => {
      const waitedMs = waitingSince === undefined ? 0 : Date.now() - waitingSince
      return waitedMs > limitMs
        ? `database pool: a query has waited ${Math.round(waitedMs / 1000)} s for an answer`
        : undefined
    })
  })
