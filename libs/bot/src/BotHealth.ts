/**
 * Whether the bot is taking and answering updates, for the runner's `/readyz` (a probe of
 * `ComponentHealth`). Being alive is not enough: a bot whose handlers all hang on a stuck pool,
 * or whose long polling stopped, is up and useless, and only a restart will help.
 */

/** What the bot knows of its own progress (real time, epoch ms). */
export interface BotProgress {
  readonly mode: "polling" | "webhook"
  /** When a `getUpdates` last completed ok (polling); the start time until then. */
  readonly polledAt: number
  /** Updates being handled now. */
  readonly pending: number
  /** When the bot last went from idle to having updates in hand. */
  readonly busySince: number
  /** When an update last finished being handled. */
  readonly lastDoneAt: number
}

/** A long poll lasts up to 30 s; one that has not completed for this long has stopped. */
export const POLL_STALL_MS = 90_000
/**
 * Updates in hand and none finished for this long: the handlers are stuck. Longer than one
 * reply may take in a Telegram outage (a minute of retries plus one attempt's timeout).
 */
export const UPDATE_STALL_MS = 90_000

/** Why the bot is not doing its work at `now`, or undefined when it is. */
export const stallReason = (p: BotProgress, now: number): string | undefined => {
  if (p.pending > 0) {
    const since = now - Math.max(p.busySince, p.lastDoneAt)
    if (since > UPDATE_STALL_MS)
      return `bot: ${p.pending} update(s) in hand and none answered for ${Math.round(since / 1000)} s`
  }
  if (p.mode === "polling" && now - p.polledAt > POLL_STALL_MS)
    return `bot: no getUpdates has completed for ${Math.round((now - p.polledAt) / 1000)} s`
  return undefined
}
