/**
 * The outbox sender's counters and gauges (Effect `Metric`). Every series is tagged with the
 * sender (`parser`, `subscriptions`, ...); the counters of messages also with their `kind`.
 * The runner exports them as `flatwatch_<name>{component="...", sender="...", kind="..."}`.
 */
import { Metric } from "effect"

/** Messages Telegram accepted. */
export const sent = Metric.counter("delivery_sent_total", { incremental: true })
/** Messages given up on: a 400, too many transient failures, an invalid row. */
export const failed = Metric.counter("delivery_failed_total", { incremental: true })
/** Transient failures (network, 5xx, timeout) after which the message is tried again. */
export const retried = Metric.counter("delivery_retried_total", { incremental: true })
/** 429 answers (each pauses the whole sender for `retry_after`). */
export const rateLimited = Metric.counter("delivery_rate_limited_total", { incremental: true })
/** Users newly marked blocked after a 403. */
export const blockedUsers = Metric.counter("delivery_blocked_users_total", { incremental: true })
/** Messages cancelled because their user had blocked the bot. */
export const cancelled = Metric.counter("delivery_cancelled_total", { incremental: true })
/** Photos Telegram refused; the alert went out as text. */
export const photoFallbacks = Metric.counter("delivery_photo_fallback_total", { incremental: true })
/** Messages whose HTML Telegram could not parse (a bug); they went out as plain text. */
export const badHtml = Metric.counter("delivery_bad_html_total", { incremental: true })
/** Due rows waiting plus rows being sent. */
export const outboxDepth = Metric.gauge("delivery_outbox_depth")
/** Seconds the longest-waiting due row has been due. */
export const oldestPendingSeconds = Metric.gauge("delivery_oldest_pending_seconds")
