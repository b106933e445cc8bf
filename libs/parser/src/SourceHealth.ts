import type { Database, DatabaseError } from "@flatwatch/db/Database"
import * as Html from "@flatwatch/telegram/Html"
import { Duration, type Effect } from "effect"
import { queueAdminNotices } from "./AdminNotices.ts"
import type { CrawlOutcome } from "./Source.ts"

export type SourceStatus = "ok" | "degraded" | "blocked"

export interface Health {
  readonly status: SourceStatus
  readonly consecutiveFailures: number
  /** Consecutive runs that found no listing (empty, zero cards, or failed). */
  readonly consecutiveEmpty: number
  readonly blockedUntil: Date | null
}

export interface HealthPolicy {
  /** Runs in a row without listings after which a source that had listings is `degraded`. */
  readonly degradedAfter: number
  /** Back-off after the first blocked run; doubles with each failed or blocked run in a row. */
  readonly blockedBackoff: Duration.Duration
  readonly maxBlockedBackoff: Duration.Duration
}

export const defaultHealthPolicy: HealthPolicy = {
  degradedAfter: 5,
  blockedBackoff: Duration.minutes(1),
  maxBlockedBackoff: Duration.hours(1),
}

/** How long a source waits after its `failures`-th failed or blocked run in a row. */
export const blockedBackoff = (failures: number, policy: HealthPolicy): Duration.Duration => {
  const initial = Duration.toMillis(policy.blockedBackoff)
  const max = Duration.toMillis(policy.maxBlockedBackoff)
  return Duration.millis(Math.min(max, initial * 2 ** Math.max(0, Math.min(failures - 1, 30))))
}

/**
 * The source's health after a run. Blocked: back off (1 min doubling to 1 h by default), status
 * `blocked`. A run that found listings: `ok`, counters reset. A run without listings (or a failed
 * one) counts towards `degraded`, which a source reaches only if it ever had listings
 * (`hadListings`): a new source that has found nothing yet is not "degraded".
 */
export const nextHealth = (
  health: Health,
  run: { readonly outcome: CrawlOutcome; readonly found: number },
  context: { readonly now: Date; readonly hadListings: boolean; readonly policy: HealthPolicy },
): Health => {
  const { now, hadListings, policy } = context
  switch (run.outcome) {
    case "blocked": {
      const failures = health.consecutiveFailures + 1
      return {
        status: "blocked",
        consecutiveFailures: failures,
        consecutiveEmpty: health.consecutiveEmpty,
        blockedUntil: new Date(now.getTime() + Duration.toMillis(blockedBackoff(failures, policy))),
      }
    }
    case "failed": {
      const empty = health.consecutiveEmpty + 1
      return {
        status:
          health.status === "blocked"
            ? "blocked"
            : hadListings && empty >= policy.degradedAfter
              ? "degraded"
              : health.status,
        consecutiveFailures: health.consecutiveFailures + 1,
        consecutiveEmpty: empty,
        blockedUntil: null,
      }
    }
    case "ok":
    case "empty": {
      if (run.found > 0) {
        return { status: "ok", consecutiveFailures: 0, consecutiveEmpty: 0, blockedUntil: null }
      }
      const empty = health.consecutiveEmpty + 1
      return {
        status: hadListings && empty >= policy.degradedAfter ? "degraded" : "ok",
        consecutiveFailures: 0,
        consecutiveEmpty: empty,
        blockedUntil: null,
      }
    }
  }
}

const clock = (date: Date) => `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`

/** The admin notice for a status change, in the admin's language (Telegram HTML). */
export const statusNoticeText = (
  language: "ru" | "en",
  change: {
    readonly source: string
    readonly from: SourceStatus
    readonly to: SourceStatus
    readonly health: Health
    readonly error: string | null
    readonly runId: number
  },
): string => {
  const source = `<b>${Html.escape(change.source)}</b>`
  const error =
    change.error === null ? "" : `\n<code>${Html.escape(Html.truncate(change.error, 500))}</code>`
  const until = change.health.blockedUntil
  if (language === "ru") {
    switch (change.to) {
      case "blocked":
        return `⛔️ Источник ${source} заблокирован (запуск #${change.runId}).${until === null ? "" : ` Следующая попытка после ${clock(until)}.`}${error}`
      case "degraded":
        return `⚠️ Источник ${source} не находит объявлений уже ${change.health.consecutiveEmpty} запусков подряд (запуск #${change.runId}): возможно, изменилась разметка сайта.${error}`
      case "ok":
        return `✅ Источник ${source} снова работает (было: ${change.from}, запуск #${change.runId}).`
    }
  }
  switch (change.to) {
    case "blocked":
      return `⛔️ Source ${source} is blocked (run #${change.runId}).${until === null ? "" : ` Next attempt after ${clock(until)}.`}${error}`
    case "degraded":
      return `⚠️ Source ${source} has found no listings in ${change.health.consecutiveEmpty} runs in a row (run #${change.runId}): the site's markup may have changed.${error}`
    case "ok":
      return `✅ Source ${source} is working again (was ${change.from}, run #${change.runId}).`
  }
}

/**
 * Queues one admin notice per admin about a status change (in the current transaction, so it is
 * queued exactly when the change commits; idempotent per admin and run). Admins who never
 * started the bot get a row with no user (the chat id of a private chat is the user id).
 */
export const queueStatusNotice = (
  adminIds: ReadonlyArray<number>,
  change: Parameters<typeof statusNoticeText>[1],
): Effect.Effect<number, DatabaseError, Database> =>
  queueAdminNotices(adminIds, `source:${change.source}:${change.runId}`, (language) =>
    statusNoticeText(language, change),
  )
