import type { Database } from "@flatwatch/db/Database"
import { Cron } from "croner"
import { Duration, Effect, FiberSet, Metric, Random, type Scope } from "effect"
import type { Fetcher } from "./Fetcher.ts"
import type { ScheduledSource } from "./ParserConfig.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import { type RunSettings, runSource } from "./SourceRun.ts"

export interface ScheduleOptions {
  /** Each run waits a random time up to this first. */
  readonly jitter: Duration.Duration
  /** Also run once right away. */
  readonly runOnStart: boolean
  readonly settings: RunSettings
}

/**
 * Runs `scheduled.source` on its cron (a croner job, acquired with the scope and stopped when it
 * closes). Ticks never overlap: a tick that finds the previous run still going is skipped, in
 * this process (a semaphore) and across processes (the source's advisory lock in `runSource`).
 * A failing run is logged and counted; the schedule carries on. Closing the scope interrupts a
 * run in progress (its transaction rolls back; the cursor stays).
 */
export const scheduleSource = (
  scheduled: ScheduledSource,
  options: ScheduleOptions,
): Effect.Effect<void, never, Scope.Scope | Database | Fetcher> =>
  Effect.gen(function* () {
    const id = scheduled.source.id
    const running = yield* Effect.makeSemaphore(1)
    const jitterMs = Duration.toMillis(options.jitter)
    const tick = Effect.gen(function* () {
      if (jitterMs > 0)
        yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(0, jitterMs + 1)))
      yield* runSource(scheduled.source, options.settings)
    }).pipe(
      running.withPermitsIfAvailable(1),
      Effect.tap((ran) =>
        ran._tag === "None"
          ? Effect.logDebug("previous run still going; tick skipped")
          : Effect.void,
      ),
      Effect.catchAllCause((cause) =>
        Effect.logError("run failed", cause).pipe(
          Effect.zipRight(Metric.increment(ParserMetrics.runs(id, "failed"))),
        ),
      ),
      Effect.asVoid,
      Effect.annotateLogs({ source: id }),
    )
    const runPromise = yield* FiberSet.makeRuntimePromise<Database | Fetcher>()
    yield* Effect.acquireRelease(
      Effect.sync(
        () => new Cron(scheduled.cron, { protect: true, catch: true }, () => runPromise(tick)),
      ),
      (job) => Effect.sync(() => job.stop()),
    )
    if (options.runOnStart) yield* Effect.forkScoped(tick)
    yield* Effect.logInfo(`scheduled on "${scheduled.cron}"`).pipe(
      Effect.annotateLogs({ source: id }),
    )
  })
