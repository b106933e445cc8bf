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
 * A 429 is a pause for the whole bot, not for one reply: Telegram's flood limits are the bot's,
 * so every reply (and every retry) waits at one shared gate until the latest `retry_after` has
 * passed, instead of each reply finding the limit again on its own.
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

/**
 * Waits `ms`, rejecting at once if a signal aborts; `cancel` ends the wait early (resolving) and
 * removes its timer and listeners, for a wait that lost a race.
 */
const cancellableSleep = (ms: number, signals: ReadonlyArray<Abortable | undefined>) => {
  const live = signals.filter((s): s is Abortable => s !== undefined)
  let cancel = () => {}
  const done = new Promise<void>((resolve, reject) => {
    if (live.some((s) => s.aborted)) {
      reject(new Error("aborted while waiting to retry"))
      return
    }
    const cleanup = () => {
      clearTimeout(timer)
      for (const s of live) s.removeEventListener("abort", abort)
    }
    const timer = setTimeout(() => {
      cleanup()
      resolve()
    }, ms)
    function abort() {
      cleanup()
      reject(new Error("aborted while waiting to retry"))
    }
    for (const s of live) s.addEventListener("abort", abort, { once: true })
    cancel = () => {
      cleanup()
      resolve()
    }
  })
  return { done, cancel: () => cancel() }
}

const sleep = (ms: number, signals: ReadonlyArray<Abortable | undefined>) =>
  cancellableSleep(ms, signals).done

/**
 * The bot's one flood gate, shared by every reply of one bot (one token). After a 429 it is
 * closed until `retry_after` has passed; then one call goes first as a probe while the others
 * wait for its answer: an ok opens the gate, another 429 closes it again. So a storm costs one
 * 429 per `retry_after`, not one per waiting reply.
 */
export class FloodGate {
  private until = 0
  private limited = false
  /** Counts 429s: a probe's ok opens the gate only if no other 429 came meanwhile. */
  private epoch = 0
  private probeEpoch = 0
  private probe: Promise<void> | undefined
  private endProbe: (() => void) | undefined

  /** Closes the gate for `retryAfterSeconds` from now (never shortens a longer pause). */
  close(retryAfterSeconds: number, now = Date.now()): void {
    this.until = Math.max(this.until, now + retryAfterSeconds * 1000)
    this.limited = true
    this.epoch++
  }

  /** How long the gate stays closed from `now` (0 when open or probing). */
  waitMs(now = Date.now()): number {
    return Math.max(0, this.until - now)
  }

  /**
   * Waits until a call may go: `"go"`, `"probe"` (this call is the first after a pause: call
   * `settle` with its outcome), or `"late"` when that cannot happen before `deadline`.
   */
  async enter(
    deadline: number,
    signals: ReadonlyArray<Abortable | undefined>,
  ): Promise<"go" | "probe" | "late"> {
    for (;;) {
      const closed = this.waitMs()
      if (closed > 0) {
        if (Date.now() + closed > deadline) return "late"
        await sleep(closed, signals)
      } else if (this.probe !== undefined) {
        if (Date.now() >= deadline) return "late"
        const timeout = cancellableSleep(Math.max(1, deadline - Date.now()), signals)
        await Promise.race([this.probe, timeout.done]).finally(timeout.cancel)
      } else if (this.limited) {
        this.probe = new Promise((resolve) => {
          this.endProbe = resolve
        })
        this.probeEpoch = this.epoch
        return "probe"
      } else return "go"
    }
  }

  /** The probe's outcome: `limited` when it got a 429 (after `close`), else the gate opens. */
  settle(limited: boolean): void {
    // A 429 to another call while the probe was out keeps the gate in probing mode.
    if (!limited && this.epoch === this.probeEpoch) this.limited = false
    const end = this.endProbe
    this.probe = undefined
    this.endProbe = undefined
    end?.()
  }
}

type Signal = Parameters<Transformer>[3]

/**
 * `signal` (the caller's, if any) that also aborts after `ms`, and whether it was the timeout
 * that aborted it.
 */
const withTimeout = (signal: Signal, ms: number, stop: AbortSignal | undefined) => {
  const timeout = AbortSignal.timeout(ms)
  // grammY types its signal with the abort-controller package; at run time it is the platform's.
  const all = [signal as unknown as AbortSignal | undefined, stop, timeout].filter(
    (s): s is AbortSignal => s !== undefined,
  )
  const combined = all.length === 1 ? timeout : AbortSignal.any(all)
  return { signal: combined as unknown as Signal, timedOut: () => timeout.aborted }
}

/**
 * The transformer: `attemptTimeoutMs` bounds each attempt; `onRetry` hears about each retry (for
 * the log); `gate` is the bot's flood gate (one per bot); `stop`, when aborted, ends every wait
 * and every call in flight at once (the bot is stopping).
 */
export const replyRetry =
  (options: {
    readonly attemptTimeoutMs: number
    readonly onRetry: (method: string, reason: string, delayMs: number) => Promise<void> | void
    readonly gate?: FloodGate
    readonly stop?: AbortSignal
  }): Transformer =>
  async (prev, method, payload, signal) => {
    if (method === "getUpdates") return prev(method, payload, signal)
    const stop = options.stop
    if (NOT_RETRIED.has(method)) {
      return prev(method, payload, withTimeout(signal, options.attemptTimeoutMs, stop).signal)
    }
    const gate = options.gate ?? new FloodGate()
    const deadline = Date.now() + retryDeadlineMs(method)
    let delay = FIRST_DELAY_MS
    for (;;) {
      let wait: number
      let reason: string
      // A call that cannot get through the gate before its deadline is refused like a 429.
      const entry = await gate.enter(deadline, [signal, stop])
      if (entry === "late") {
        const seconds = Math.max(1, Math.ceil(gate.waitMs() / 1000))
        return {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: the bot is paused for ${seconds} s more`,
          parameters: { retry_after: seconds },
        }
      }
      // An attempt never outlives the method's deadline (time at the gate counts against it).
      const budget = Math.min(options.attemptTimeoutMs, deadline - Date.now())
      if (budget <= 0) {
        if (entry === "probe") gate.settle(true)
        return {
          ok: false,
          error_code: 429,
          description: "Too Many Requests: no time left before this call's deadline",
          parameters: { retry_after: 1 },
        }
      }
      const attempt = withTimeout(signal, budget, stop)
      try {
        const result = await prev(method, payload, attempt.signal)
        const retryAfter = result.ok ? undefined : result.parameters?.retry_after
        if (typeof retryAfter === "number") gate.close(retryAfter)
        // Only an answer that is not a 429 says the flood limit is over.
        if (entry === "probe") gate.settle(typeof retryAfter === "number")
        if (result.ok) return result
        if (typeof retryAfter === "number") {
          wait = gate.waitMs()
          reason = `429 retry after ${retryAfter} s`
        } else if (result.error_code >= 500) {
          wait = delay
          reason = `${result.error_code} ${result.description}`
        } else {
          return result
        }
        if (signal?.aborted === true || Date.now() + wait > deadline) return result
      } catch (e) {
        // No answer at all says nothing about the flood limit: the next call probes again.
        if (entry === "probe") gate.settle(true)
        if (!(e instanceof HttpError) || signal?.aborted === true || stop?.aborted === true) throw e
        wait = delay
        reason = attempt.timedOut() ? `no answer within ${budget} ms` : e.message
        if (Date.now() + wait > deadline) throw e
      }
      await options.onRetry(method, reason, wait)
      await sleep(wait, [signal, stop])
      if (wait === delay) delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  }
