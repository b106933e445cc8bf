/**
 * The bot's replies survive a short Telegram outage: a reply (sendMessage, editMessageText,
 * sendInvoice, answerCallbackQuery, ...) that Telegram answers with 429, a 5xx, or that fails
 * on the network (or comes back as something other than JSON) is sent again, after
 * `retry_after` for a 429 and after 1 s, 2 s, 4 s, ... otherwise, until it goes through or the
 * method's deadline has passed; then the last error is returned to the handler as before (and
 * the error boundary apologises and logs it).
 *
 * Every attempt has a timeout (`TELEGRAM_TIMEOUT`, default 15 s): a call Telegram does not
 * answer in time is abandoned and counts as a network failure.
 *
 * Not retried: the bot's own start-up and polling calls (they have their own retry; the start-up
 * ones still time out), and every other error (a 400 or 403 will not change by asking again).
 * Telegram's time limits set the deadlines: a pre-checkout query must be answered within 10 s, a
 * button press within about 15 s; everything else gets a minute.
 *
 * grammY's auto-retry plugin does the same for 429 and 5xx, but retries network errors without
 * any limit, which would hold a user's handler (and, by `sequentialize`, their next updates) for
 * as long as Telegram is unreachable.
 */
import { HttpError, type Transformer } from "grammy"

/** Start-up methods, which have their own retry: one attempt each, with the timeout. */
const NOT_RETRIED = new Set(["getMe", "setMyCommands", "deleteWebhook", "setWebhook"])

/** How long a method may be retried, counted from its first attempt. */
export const retryDeadlineMs = (method: string): number =>
  method === "answerPreCheckoutQuery" ? 8_000 : method === "answerCallbackQuery" ? 12_000 : 60_000

const FIRST_DELAY_MS = 1_000
const MAX_DELAY_MS = 16_000

/** The part of grammY's AbortSignal (from the abort-controller package) a wait needs. */
interface Abortable {
  readonly aborted: boolean
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: "abort", listener: () => void): void
}

const sleep = (ms: number, signal: Abortable | undefined) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort)
      resolve()
    }, ms)
    function abort() {
      clearTimeout(timer)
      reject(new Error("aborted while waiting to retry"))
    }
    signal?.addEventListener("abort", abort, { once: true })
  })

type Signal = Parameters<Transformer>[3]

/**
 * `signal` (the caller's, if any) that also aborts after `ms`, and whether it was the timeout
 * that aborted it.
 */
const withTimeout = (signal: Signal, ms: number) => {
  const timeout = AbortSignal.timeout(ms)
  // grammY types its signal with the abort-controller package; at run time it is the platform's.
  const combined =
    signal === undefined ? timeout : AbortSignal.any([signal as unknown as AbortSignal, timeout])
  return { signal: combined as unknown as Signal, timedOut: () => timeout.aborted }
}

/**
 * The transformer: `attemptTimeoutMs` bounds each attempt; `onRetry` hears about each retry (for
 * the log).
 */
export const replyRetry =
  (options: {
    readonly attemptTimeoutMs: number
    readonly onRetry: (method: string, reason: string, delayMs: number) => Promise<void> | void
  }): Transformer =>
  async (prev, method, payload, signal) => {
    if (method === "getUpdates") return prev(method, payload, signal)
    if (NOT_RETRIED.has(method)) {
      return prev(method, payload, withTimeout(signal, options.attemptTimeoutMs).signal)
    }
    const deadline = Date.now() + retryDeadlineMs(method)
    let delay = FIRST_DELAY_MS
    for (;;) {
      let wait: number
      let reason: string
      const attempt = withTimeout(signal, options.attemptTimeoutMs)
      try {
        const result = await prev(method, payload, attempt.signal)
        if (result.ok) return result
        const retryAfter = result.parameters?.retry_after
        if (typeof retryAfter === "number") {
          wait = retryAfter * 1000
          reason = `429 retry after ${retryAfter} s`
        } else if (result.error_code >= 500) {
          wait = delay
          reason = `${result.error_code} ${result.description}`
        } else {
          return result
        }
        if (signal?.aborted === true || Date.now() + wait > deadline) return result
      } catch (e) {
        if (!(e instanceof HttpError) || signal?.aborted === true) throw e
        wait = delay
        reason = attempt.timedOut() ? `no answer within ${options.attemptTimeoutMs} ms` : e.message
        if (Date.now() + wait > deadline) throw e
      }
      await options.onRetry(method, reason, wait)
      await sleep(wait, signal)
      if (wait === delay) delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  }
