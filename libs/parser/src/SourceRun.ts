import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { listings, sourceRuns, sourceState } from "@flatwatch/db/schema"
import { Markets } from "@flatwatch/market/Markets"
import { eq } from "drizzle-orm"
import { Cause, Clock, Data, Effect, Metric, Option } from "effect"
import { recordFetchVia } from "./BrowserSession.ts"
import { Fetcher } from "./Fetcher.ts"
import { queueFetchSwitchNotice } from "./FetchSwitchNotice.ts"
import { withDistrictGroups } from "./ListingGroups.ts"
import { knownIds, storeListings } from "./ListingStore.ts"
import { ParserMetrics, STATUS_CODE } from "./ParserMetrics.ts"
import type { Crawl, CrawlOutcome, Source } from "./Source.ts"
import {
  type HealthPolicy,
  nextHealth,
  queueStatusNotice,
  type SourceStatus,
} from "./SourceHealth.ts"
import { withSourceLock } from "./SourceLock.ts"

export interface RunSettings {
  readonly policy: HealthPolicy
  /** Telegram ids of the operators who get status-change notices. */
  readonly adminIds: ReadonlyArray<number>
}

/** What happened when a run was due. */
export type RunReport = Data.TaggedEnum<{
  /** Another instance holds the source's lock, or the source is backing off after a block. */
  Skipped: { readonly reason: "locked" | "backoff"; readonly until?: Date }
  Ran: {
    readonly runId: number
    readonly outcome: CrawlOutcome
    readonly pages: number
    readonly found: number
    readonly created: number
    readonly updated: number
    readonly invalid: number
    readonly queued: number
    readonly status: SourceStatus
    readonly error: string | null
  }
}>
export const RunReport = Data.taggedEnum<RunReport>()

const failedCrawl = (error: string): Crawl => ({
  outcome: "failed",
  pages: 0,
  listings: [],
  invalid: [],
  skipped: 0,
  errors: 1,
  error,
})

/** A cause's first line, for `source_runs.error` and logs. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value as { message?: unknown }
    return typeof e?.message === "string" ? e.message : String(failure.value)
  }
  return Cause.pretty(cause).split("\n")[0] ?? "defect"
}

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * One run of `source`, at most one at a time across every instance (advisory lock): fetch and
 * parse its pages, then in ONE transaction store the listings, record price changes, queue the
 * matching alerts, move the cursor (only when the crawl read everything above it), and record
 * the run and the source's health (queuing an admin notice when the status changes). A crawl
 * that fails or is blocked keeps the listings it read and leaves the cursor where it was.
 * Listings get their district groups here, from their market (`withDistrictGroups`).
 */
export const runSource = (
  source: Source,
  settings: RunSettings,
): Effect.Effect<RunReport, DatabaseError, Database | Fetcher | Markets> =>
  withSourceLock(source.id, runLocked(source, settings)).pipe(
    Effect.map(Option.getOrElse(() => RunReport.Skipped({ reason: "locked" }))),
    Effect.annotateLogs({ source: source.id }),
    Effect.withSpan("SourceRun.runSource", { attributes: { source: source.id } }),
  )

const runLocked = (source: Source, settings: RunSettings) =>
  Effect.gen(function* () {
    const startedAt = yield* now
    yield* Database.query((db) =>
      db.insert(sourceState).values({ source: source.id }).onConflictDoNothing(),
    )
    const [state] = yield* Database.query((db) =>
      db.select().from(sourceState).where(eq(sourceState.source, source.id)),
    )
    if (state === undefined)
      return yield* Effect.dieMessage(`source_state row of ${source.id} vanished`)
    if (state.blockedUntil !== null && state.blockedUntil.getTime() > startedAt.getTime()) {
      yield* Effect.logDebug(`backing off until ${state.blockedUntil.toISOString()}`)
      return RunReport.Skipped({ reason: "backoff", until: state.blockedUntil })
    }
    const [run] = yield* Database.query((db) =>
      db
        .insert(sourceRuns)
        .values({ source: source.id, startedAt })
        .returning({ id: sourceRuns.id }),
    )
    if (run === undefined)
      return yield* Effect.dieMessage("inserting a source run returned nothing")
    const runId = run.id
    const database = yield* Database
    const fetcher = yield* Fetcher

    const crawl = yield* source
      .crawl({
        cursor: state.cursor,
        now: startedAt.getTime(),
        knownIds: (ids) => Effect.provideService(knownIds(source.id, ids), Database, database),
      })
      .pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.succeed(failedCrawl(describeCause(cause))),
        ),
        Effect.onInterrupt(() =>
          finishRun(runId, { outcome: "failed", error: "interrupted (shutdown)" }).pipe(
            Effect.ignore,
          ),
        ),
      )

    const markets = yield* Markets
    const found = crawl.listings.map((listing) => withDistrictGroups(markets, listing))
    const report = yield* Database.transaction(
      Effect.gen(function* () {
        const finishedAt = yield* now
        const stored = yield* storeListings(found, startedAt)
        const hadListings =
          crawl.listings.length > 0 ||
          (yield* Database.query((db) =>
            db
              .select({ id: listings.id })
              .from(listings)
              .where(eq(listings.source, source.id))
              .limit(1),
          )).length > 0
        const health = nextHealth(
          state,
          { outcome: crawl.outcome, found: crawl.listings.length },
          { now: finishedAt, hadListings, policy: settings.policy },
        )
        const succeeded = crawl.outcome === "ok" || crawl.outcome === "empty"
        yield* Database.query((db) =>
          db
            .update(sourceState)
            .set({
              ...(crawl.cursor === undefined ? {} : { cursor: crawl.cursor }),
              status: health.status,
              consecutiveFailures: health.consecutiveFailures,
              consecutiveEmpty: health.consecutiveEmpty,
              blockedUntil: health.blockedUntil,
              lastRunAt: startedAt,
              via: crawl.via ?? null,
              ...(succeeded
                ? { lastSuccessAt: finishedAt, lastError: null }
                : { lastError: crawl.error ?? null }),
              updatedAt: finishedAt,
            })
            .where(eq(sourceState.source, source.id)),
        )
        yield* finishRun(runId, {
          outcome: crawl.outcome,
          error: crawl.error ?? null,
          finishedAt,
          pages: crawl.pages,
          found: crawl.listings.length,
          created: stored.created.length,
          updated: stored.priceChanges,
          invalid: crawl.invalid.length,
          errors: crawl.errors,
        })
        const switched = yield* Option.match(fetcher.via(source.id), {
          onNone: () => Effect.succeedNone,
          onSome: (via) =>
            Effect.map(
              recordFetchVia(source.id, via, finishedAt),
              Option.map((from) => ({ from, to: via })),
            ),
        })
        if (Option.isSome(switched)) {
          yield* queueFetchSwitchNotice(settings.adminIds, {
            source: source.id,
            runId,
            ...switched.value,
          })
        }
        if (health.status !== state.status) {
          yield* queueStatusNotice(settings.adminIds, {
            source: source.id,
            from: state.status,
            to: health.status,
            health,
            error: crawl.error ?? null,
            runId,
          })
        }
        return { stored, health, switched }
      }),
    ).pipe(
      Effect.tapErrorCause(
        recordStoreFailure(
          runId,
          "storing the run failed; its listings will be read again next run",
        ),
      ),
    )

    const { stored, health, switched } = report
    if (Option.isSome(switched)) {
      yield* Effect.logWarning(
        `fetch: auto: recorded the switch from ${switched.value.from} to ${switched.value.to}; admins told`,
      )
    }
    const queued = stored.queuedListing + stored.queuedPriceDrop
    yield* recordMetrics(source.id, crawl, stored, health.status, startedAt)
    if (health.status !== state.status) {
      yield* Effect.logWarning(
        `status ${state.status} -> ${health.status}${crawl.error === undefined ? "" : `: ${crawl.error}`}`,
      )
    }
    const summary = `run #${runId} ${crawl.outcome}: ${crawl.pages} pages, ${crawl.listings.length} listings, ${stored.created.length} new, ${stored.priceChanges} price changes, ${crawl.invalid.length} invalid, ${queued} alerts`
    if (crawl.outcome === "ok" || crawl.outcome === "empty") yield* Effect.logInfo(summary)
    else
      yield* Effect.logWarning(`${summary}${crawl.error === undefined ? "" : `: ${crawl.error}`}`)
    for (const card of crawl.invalid.slice(0, 5)) {
      yield* Effect.logWarning(
        `invalid card on page ${card.page} (${card.id ?? "no id"}): ${card.reason}`,
      )
    }
    return RunReport.Ran({
      runId,
      outcome: crawl.outcome,
      pages: crawl.pages,
      found: crawl.listings.length,
      created: stored.created.length,
      updated: stored.priceChanges,
      invalid: crawl.invalid.length,
      queued,
      status: health.status,
      error: crawl.error ?? null,
    })
  })

/** Records the end of a `source_runs` row (outcome, error, counts). */
/**
 * When storing a run's result fails (its transaction rolled back): logs `message` with the cause
 * and records the run as failed, outside that transaction; never fails itself.
 */
export const recordStoreFailure =
  (runId: number, message: string) =>
  (cause: Cause.Cause<unknown>): Effect.Effect<void, never, Database> =>
    Effect.logError(message, cause).pipe(
      Effect.zipRight(
        finishRun(runId, { outcome: "failed", error: `storing failed: ${describeCause(cause)}` }),
      ),
      Effect.ignore,
    )

export const finishRun = (
  runId: number,
  values: {
    readonly outcome: CrawlOutcome
    readonly error: string | null
    readonly finishedAt?: Date
    readonly pages?: number
    readonly found?: number
    readonly created?: number
    readonly updated?: number
    readonly invalid?: number
    readonly errors?: number
  },
) =>
  Effect.flatMap(now, (at) =>
    Database.query((db) =>
      db
        .update(sourceRuns)
        .set({
          outcome: values.outcome,
          error: values.error,
          finishedAt: values.finishedAt ?? at,
          ...(values.pages === undefined ? {} : { pages: values.pages }),
          ...(values.found === undefined ? {} : { found: values.found }),
          ...(values.created === undefined ? {} : { new: values.created }),
          ...(values.updated === undefined ? {} : { updated: values.updated }),
          ...(values.invalid === undefined ? {} : { invalid: values.invalid }),
          ...(values.errors === undefined ? {} : { errors: values.errors }),
        })
        .where(eq(sourceRuns.id, runId)),
    ),
  )

const recordMetrics = (
  source: string,
  crawl: Crawl,
  stored: {
    readonly created: ReadonlyArray<number>
    readonly priceChanges: number
    readonly queuedListing: number
    readonly queuedPriceDrop: number
  },
  status: SourceStatus,
  startedAt: Date,
) =>
  Effect.gen(function* () {
    yield* Metric.incrementBy(ParserMetrics.found(source), crawl.listings.length)
    yield* Metric.incrementBy(ParserMetrics.created(source), stored.created.length)
    yield* Metric.incrementBy(ParserMetrics.invalid(source), crawl.invalid.length)
    yield* Metric.incrementBy(ParserMetrics.priceChanges(source), stored.priceChanges)
    yield* Metric.incrementBy(ParserMetrics.queued(source, "listing"), stored.queuedListing)
    yield* Metric.incrementBy(ParserMetrics.queued(source, "price_drop"), stored.queuedPriceDrop)
    yield* Metric.increment(ParserMetrics.runs(source, crawl.outcome))
    yield* Metric.set(ParserMetrics.status(source), STATUS_CODE[status])
    const finished = yield* Clock.currentTimeMillis
    yield* Metric.set(ParserMetrics.lastRunMs(source), finished - startedAt.getTime())
  })
