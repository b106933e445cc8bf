import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { listings, sourceRuns, sourceState } from "@flatwatch/db/schema"
import { and, eq, inArray, isNull } from "drizzle-orm"
import { Cause, Clock, Data, Duration, Effect, Metric, Option } from "effect"
import type { Fetcher } from "./Fetcher.ts"
import { storeListings } from "./ListingStore.ts"
import { ParserMetrics } from "./ParserMetrics.ts"
import type { Recheck, Source } from "./Source.ts"
import { withSourceLock } from "./SourceLock.ts"
import { describeCause, finishRun, recordStoreFailure } from "./SourceRun.ts"

/** What the price watch of one source looks at. */
export interface PriceWatchSettings {
  /** Listings whose `listing` alert was sent within this long are watched. */
  readonly window: Duration.Duration
  /** A listing the source has not had for this long is no longer asked about. */
  readonly goneAfter: Duration.Duration
  /** The most listings asked about in one run (the longest unchecked first). */
  readonly maxListings: number
}

/** What happened when a price watch was due. */
export type WatchReport = Data.TaggedEnum<{
  /**
   * `locked`: a crawl or a watch of the source holds its lock; `backoff`: the source is backing
   * off after a block; `idle`: no listing is due; `unsupported`: the source cannot be asked for
   * listings by id.
   */
  Skipped: {
    readonly reason: "locked" | "backoff" | "idle" | "unsupported"
    readonly until?: Date
  }
  Ran: {
    readonly runId: number
    readonly outcome: Recheck["outcome"]
    readonly requests: number
    /** Listings asked about. */
    readonly asked: number
    /** Asked listings the source answered for (found or not). */
    readonly checked: number
    /** Answered listings the source still has. */
    readonly found: number
    /** Answered listings the source no longer has. */
    readonly missing: number
    /** Found listings whose price changed (history recorded). */
    readonly changed: number
    readonly invalid: number
    /** `price_drop` alerts queued. */
    readonly queuedPriceDrop: number
    /** `listing` alerts queued (a drop that brings a listing into someone's range). */
    readonly queuedListing: number
    readonly error: string | null
  }
}>
export const WatchReport = Data.taggedEnum<WatchReport>()

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * The external ids of the listings of `source` the price watch should ask about at `now`, the
 * longest unchecked first (by the later of the last check and the last time a crawl saw it),
 * at most `maxListings`: those whose `listing` alert was sent within `window` to a user who
 * still receives alerts (not blocked, not paused, an active period covering now), except the
 * ones the source has not had for `goneAfter` or longer.
 */
export const dueForWatch = (
  source: string,
  settings: PriceWatchSettings,
  at: Date,
): Effect.Effect<ReadonlyArray<string>, DatabaseError, Database> =>
  Database.sql((sql) => {
    const nowIso = at.toISOString()
    const since = new Date(at.getTime() - Duration.toMillis(settings.window)).toISOString()
    const goneBefore = new Date(at.getTime() - Duration.toMillis(settings.goneAfter)).toISOString()
    return sql<{ external_id: string }[]>`
      with recipients as (
        select distinct d.listing_id
        from deliveries d
        join users u on u.id = d.user_id
        where d.kind = 'listing' and d.status = 'sent' and d.sent_at >= ${since}::timestamptz
          and u.blocked_at is null and u.paused_at is null
          and exists (
            select 1 from subscriptions s
            where s.user_id = d.user_id and s.status = 'active'
              and s.starts_at <= ${nowIso}::timestamptz and s.ends_at > ${nowIso}::timestamptz
          )
      )
      select l.external_id
      from listings l
      join recipients r on r.listing_id = l.id
      where l.source = ${source}
        and (l.missing_since is null or l.missing_since > ${goneBefore}::timestamptz)
      order by greatest(l.price_checked_at, l.last_seen_at), l.id
      limit ${settings.maxListings}
    `
  }).pipe(Effect.map((rows) => rows.map((r) => r.external_id)))

const failedRecheck = (error: string): Recheck => ({
  outcome: "failed",
  requests: 0,
  listings: [],
  answered: [],
  invalid: [],
  errors: 1,
  error,
})

/**
 * One price-watch run of `source`: asks the source for the current state of the listings that
 * are due (`dueForWatch`) and stores what it finds through `storeListings`, in ONE transaction,
 * so a changed price writes `listing_prices` and a drop queues `price_drop` alerts for the users
 * who got the listing and still match (and `listing` alerts for those it now fits), under every
 * rule of a crawl. Answered listings get `price_checked_at`; those the source no longer has get
 * `missing_since` (kept from the first miss; cleared when the listing is seen again).
 *
 * It takes the same per-source advisory lock as a crawl (never both at once), skips while the
 * source backs off after a block, and is recorded in `source_runs` with kind `price_watch`.
 * It never touches `source_state`: not the cursor, not the status, not the back-off. A blocked
 * or failed watch keeps what its earlier requests read, leaves the rest due for the next run, and
 * is visible in `source_runs`, the logs and `parser_price_watch_runs_total`; the crawl, which
 * asks the same site every few minutes, is what declares the source blocked.
 */
export const watchPrices = (
  source: Source,
  settings: PriceWatchSettings,
): Effect.Effect<WatchReport, DatabaseError, Database | Fetcher> =>
  withSourceLock(source.id, watchLocked(source, settings)).pipe(
    Effect.map(Option.getOrElse(() => WatchReport.Skipped({ reason: "locked" }))),
    Effect.annotateLogs({ source: source.id, run: "price_watch" }),
    Effect.withSpan("PriceWatch.watchPrices", { attributes: { source: source.id } }),
  )

const watchLocked = (source: Source, settings: PriceWatchSettings) =>
  Effect.gen(function* () {
    const recheck = source.recheck
    if (recheck === undefined) return WatchReport.Skipped({ reason: "unsupported" })
    const startedAt = yield* now
    const [state] = yield* Database.query((db) =>
      db
        .select({ blockedUntil: sourceState.blockedUntil })
        .from(sourceState)
        .where(eq(sourceState.source, source.id)),
    )
    const blockedUntil = state?.blockedUntil ?? null
    if (blockedUntil !== null && blockedUntil.getTime() > startedAt.getTime()) {
      yield* Effect.logDebug(`backing off until ${blockedUntil.toISOString()}`)
      return WatchReport.Skipped({ reason: "backoff", until: blockedUntil })
    }
    const due = yield* dueForWatch(source.id, settings, startedAt)
    if (due.length === 0) {
      yield* Effect.logDebug("no listing is due for a price check")
      return WatchReport.Skipped({ reason: "idle" })
    }
    const [run] = yield* Database.query((db) =>
      db
        .insert(sourceRuns)
        .values({ source: source.id, kind: "price_watch", startedAt })
        .returning({ id: sourceRuns.id }),
    )
    if (run === undefined)
      return yield* Effect.dieMessage("inserting a source run returned nothing")
    const runId = run.id

    const result = yield* recheck(due).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.succeed(failedRecheck(describeCause(cause))),
      ),
      Effect.onInterrupt(() =>
        finishRun(runId, { outcome: "failed", error: "interrupted (shutdown)" }).pipe(
          Effect.ignore,
        ),
      ),
    )

    const asked = new Set(due)
    const found = result.listings.filter((l) => asked.has(l.externalId))
    const foundIds = new Set(found.map((l) => l.externalId))
    const invalidIds = new Set(
      result.invalid.flatMap((card) => (card.id === null ? [] : [card.id])),
    )
    const answered = result.answered.filter((id) => asked.has(id))
    const missing = answered.filter((id) => !foundIds.has(id) && !invalidIds.has(id))

    const { stored, newlyMissing } = yield* Database.transaction(
      Effect.gen(function* () {
        const stored = yield* storeListings(found, startedAt)
        if (answered.length > 0) {
          yield* Database.query((db) =>
            db
              .update(listings)
              .set({ priceCheckedAt: startedAt })
              .where(and(eq(listings.source, source.id), inArray(listings.externalId, answered))),
          )
        }
        const newlyMissing =
          missing.length === 0
            ? []
            : yield* Database.query((db) =>
                db
                  .update(listings)
                  .set({ missingSince: startedAt })
                  .where(
                    and(
                      eq(listings.source, source.id),
                      inArray(listings.externalId, missing),
                      isNull(listings.missingSince),
                    ),
                  )
                  .returning({ id: listings.id }),
              )
        yield* finishRun(runId, {
          outcome: result.outcome,
          error: result.error ?? null,
          finishedAt: yield* now,
          pages: result.requests,
          found: found.length,
          created: 0,
          updated: stored.priceChanges,
          invalid: result.invalid.length,
          errors: result.errors,
        })
        return { stored, newlyMissing: newlyMissing.length }
      }),
    ).pipe(
      Effect.tapErrorCause(
        recordStoreFailure(
          runId,
          "storing the price watch failed; its listings stay due for the next run",
        ),
      ),
    )

    const id = source.id
    yield* Metric.increment(ParserMetrics.watchRuns(id, result.outcome))
    yield* Metric.incrementBy(ParserMetrics.watchChecked(id), answered.length)
    yield* Metric.incrementBy(ParserMetrics.watchChanged(id), stored.priceChanges)
    yield* Metric.incrementBy(ParserMetrics.watchMissing(id), newlyMissing)
    yield* Metric.incrementBy(ParserMetrics.priceChanges(id), stored.priceChanges)
    yield* Metric.incrementBy(ParserMetrics.invalid(id), result.invalid.length)
    yield* Metric.incrementBy(ParserMetrics.queued(id, "listing"), stored.queuedListing)
    yield* Metric.incrementBy(ParserMetrics.queued(id, "price_drop"), stored.queuedPriceDrop)

    const summary = `price watch #${runId} ${result.outcome}: ${result.requests} requests, ${answered.length}/${due.length} listings checked, ${found.length} still listed, ${missing.length} gone (${newlyMissing} newly), ${stored.priceChanges} price changes, ${stored.queuedPriceDrop} price-drop alerts`
    if (result.outcome === "ok") yield* Effect.logInfo(summary)
    else
      yield* Effect.logWarning(
        `${summary}${result.error === undefined ? "" : `: ${result.error}`}; the crawl cursor and the source status are unchanged`,
      )
    for (const card of result.invalid.slice(0, 5)) {
      yield* Effect.logWarning(`invalid hit (${card.id ?? "no id"}): ${card.reason}`)
    }
    return WatchReport.Ran({
      runId,
      outcome: result.outcome,
      requests: result.requests,
      asked: due.length,
      checked: answered.length,
      found: found.length,
      missing: missing.length,
      changed: stored.priceChanges,
      invalid: result.invalid.length,
      queuedPriceDrop: stored.queuedPriceDrop,
      queuedListing: stored.queuedListing,
      error: result.error ?? null,
    })
  })
