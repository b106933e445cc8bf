import type { Database, DatabaseError } from "@flatwatch/db/Database"
import type { Markets } from "@flatwatch/market/Markets"
import { Cron } from "croner"
import { Duration, Effect, FiberSet, Metric, Option, Random, type Scope } from "effect"
import type { Fetcher } from "./Fetcher.ts"
import type { ScheduledSource } from "./ParserConfig.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import { type WatchReport, watchPrices } from "./PriceWatch.ts"
import { type RunReport, type RunSettings, runSource } from "./SourceRun.ts"

export interface ScheduleOptions {
  /** Each run waits a random time up to this first. */
  readonly jitter: Duration.Duration
  /** Also run once right away (the crawl; the price watch keeps to its cron). */
  readonly runOnStart: boolean
  readonly settings: RunSettings
  /**
   * A price watch that finds the source's lock held by another instance tries again this many
   * times, this far apart (default 6 times, 10 seconds: a crawl takes seconds, a watch runs
   * hourly, so giving up at once would lose an hour).
   */
  readonly lockRetry?: { readonly times: number; readonly delay: Duration.Duration }
}

type Tick<A> = Effect.Effect<Option.Option<A>, DatabaseError, Database | Fetcher | Markets>

/** A source's two kinds of run, ready to be started by a schedule. */
export interface SourceTicks {
  /** A crawl; none when the previous crawl is still going (the tick is skipped). */
  readonly crawl: Tick<RunReport>
  /** A price watch (sources that have one); none when the previous watch is still going. */
  readonly watch: Option.Option<Tick<WatchReport>>
}

/**
 * The crawl and price-watch ticks of one source. A tick that finds its own previous run still
 * going is skipped. A crawl and a watch of the source never run at once: in this process they
 * take turns on one semaphore (the second waits for the first rather than being skipped), and
 * across processes both take the source's advisory lock (a watch that finds it held elsewhere
 * tries again, `lockRetry`). Jitter is waited before queuing for the source.
 */
export const sourceTicks = (
  scheduled: ScheduledSource,
  options: ScheduleOptions,
): Effect.Effect<SourceTicks> =>
  Effect.gen(function* () {
    const source = scheduled.source
    const busy = yield* Effect.makeSemaphore(1)
    const crawling = yield* Effect.makeSemaphore(1)
    const watching = yield* Effect.makeSemaphore(1)
    const jitterMs = Duration.toMillis(options.jitter)
    const jitter =
      jitterMs > 0
        ? Effect.flatMap(Random.nextIntBetween(0, jitterMs + 1), (ms) =>
            Effect.sleep(Duration.millis(ms)),
          )
        : Effect.void
    const crawl = jitter.pipe(
      Effect.zipRight(busy.withPermits(1)(runSource(source, options.settings))),
      crawling.withPermitsIfAvailable(1),
    )
    const retry = options.lockRetry ?? { times: 6, delay: Duration.seconds(10) }
    const watch = Option.fromNullable(scheduled.priceWatch).pipe(
      Option.map((priceWatch) => {
        const attempt = (
          left: number,
        ): Effect.Effect<WatchReport, DatabaseError, Database | Fetcher> =>
          busy
            .withPermits(1)(watchPrices(source, priceWatch.settings))
            .pipe(
              Effect.flatMap((report) =>
                report._tag === "Skipped" && report.reason === "locked" && left > 0
                  ? Effect.logDebug("the source is locked elsewhere; trying again").pipe(
                      Effect.zipRight(Effect.sleep(retry.delay)),
                      Effect.zipRight(attempt(left - 1)),
                    )
                  : Effect.succeed(report),
              ),
            )
        return jitter.pipe(
          Effect.zipRight(attempt(retry.times)),
          watching.withPermitsIfAvailable(1),
        )
      }),
    )
    return { crawl, watch }
  })

/** A croner job running `tick` (bridged through the scope's runtime), stopped with the scope. */
const cronJob = (pattern: string, tick: Effect.Effect<void, never, Database | Fetcher | Markets>) =>
  Effect.gen(function* () {
    const runPromise = yield* FiberSet.makeRuntimePromise<Database | Fetcher | Markets>()
    yield* Effect.acquireRelease(
      Effect.sync(() => new Cron(pattern, { protect: true, catch: true }, () => runPromise(tick))),
      (job) => Effect.sync(() => job.stop()),
    )
  })

/**
 * Runs `scheduled.source` on its cron, and its price watch on the watch's cron (croner jobs,
 * acquired with the scope and stopped when it closes); see `sourceTicks` for how runs never
 * overlap. A failing run is logged and counted; the schedule carries on. Closing the scope
 * interrupts a run in progress (its transaction rolls back; the cursor stays).
 */
export const scheduleSource = (
  scheduled: ScheduledSource,
  options: ScheduleOptions,
): Effect.Effect<void, never, Scope.Scope | Database | Fetcher | Markets> =>
  Effect.gen(function* () {
    const id = scheduled.source.id
    const ticks = yield* sourceTicks(scheduled, options)
    const crawl = ticks.crawl.pipe(
      Effect.tap((ran) =>
        Option.isNone(ran)
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
    yield* cronJob(scheduled.cron, crawl)
    if (options.runOnStart) yield* Effect.forkScoped(crawl)
    yield* Effect.logInfo(`scheduled on "${scheduled.cron}"`).pipe(
      Effect.annotateLogs({ source: id }),
    )
    if (Option.isSome(ticks.watch) && scheduled.priceWatch !== undefined) {
      const watch = ticks.watch.value.pipe(
        Effect.tap((ran) =>
          Option.isNone(ran)
            ? Effect.logDebug("previous price watch still going; tick skipped")
            : Effect.void,
        ),
        Effect.catchAllCause((cause) =>
          Effect.logError("price watch failed", cause).pipe(
            Effect.zipRight(Metric.increment(ParserMetrics.watchRuns(id, "failed"))),
          ),
        ),
        Effect.asVoid,
        Effect.annotateLogs({ source: id, run: "price_watch" }),
      )
      yield* cronJob(scheduled.priceWatch.cron, watch)
      yield* Effect.logInfo(`price watch scheduled on "${scheduled.priceWatch.cron}"`).pipe(
        Effect.annotateLogs({ source: id }),
      )
    }
  })
