/**
 * The outbox sender (DESIGN.md flow 3): a Layer that provides nothing and, while its scope is
 * open, sends the outbox rows of the delivery kinds it owns, at Telegram's rate limits, losing
 * none. A component adds it next to its own loops:
 *
 * ```ts
 * OutboxSender.layerConfig(OutboxSender.presets.parser) // listing, price_drop, admin_notice
 * ```
 *
 * How it works:
 * - One dispatcher fiber claims due rows in batches (`FOR UPDATE SKIP LOCKED`, status `sending`,
 *   a lease) and starts sends: at most `concurrency` in flight, a global token bucket (`rate`
 *   msg/s, burst `rate/10`), one message at a time per chat and `1/chatRate` s between them,
 *   each chat's messages in queue order. It wakes on `NOTIFY flatwatch_outbox` (a trigger on
 *   `deliveries`) and polls every `pollInterval` for retries and scheduled rows.
 * - Telegram's answer decides the row's fate (see `BotApiError`): ok -> `sent` with the message
 *   id; 429 -> the whole sender pauses for `retry_after`, the row is retried (no attempt used);
 *   403 -> user blocked, their pending rows cancelled; 400 about the photo -> the alert is sent
 *   as text; 400 "can't parse entities" -> sent as plain text, logged as a bug; other 400 ->
 *   `failed`; 5xx, network errors, timeouts -> retried with jittered exponential backoff (the
 *   chat's later rows wait behind it) and the sender slows down, until `maxAttempts`, then `failed`.
 * - One marker fiber writes results in batches (one statement for whatever has accumulated) and
 *   renews the leases of held rows. A send's slot is freed only once its result is committed, so
 *   a crash re-sends at most `concurrency` messages.
 * - Shutdown (scope close): stop claiming, let in-flight sends finish within `shutdownTimeout`
 *   (then abort them), return every unsent claimed row to `pending`.
 */

import { Database } from "@flatwatch/db/Database"
import { positiveDuration } from "@flatwatch/db/DurationConfig"
import {
  Clock,
  Config,
  ConfigError,
  Duration,
  Effect,
  Either,
  Fiber,
  FiberSet,
  Layer,
  Metric,
  Option,
  Queue,
  Random,
  Redacted,
  Schedule,
  Schema,
  type Scope,
} from "effect"
import { Api } from "grammy"
import type { InlineKeyboardButton } from "grammy/types"
import { BotApiError, classify } from "./BotApiError.ts"
import * as Metrics from "./DeliveryMetrics.ts"
import * as Html from "./Html.ts"
import * as ListingAlert from "./ListingAlert.ts"
import { type DeliveryKind, PriceDropPayload, TextPayload } from "./Outbox.ts"
import type { ClaimedRow, Mark } from "./OutboxStore.ts"
import * as OutboxStore from "./OutboxStore.ts"
import type { OutgoingMessage } from "./OutgoingMessage.ts"
import { apiRoot, botToken, callTimeout } from "./TelegramConfig.ts"
import { burstFor, TokenBucket } from "./TokenBucket.ts"

/** The channel the `deliveries_notify` trigger notifies, with the inserted kinds as payload. */
export const NOTIFY_CHANNEL = "flatwatch_outbox"

export interface OutboxSenderOptions {
  /** Names this sender in logs and metrics (`sender` tag), e.g. `parser`. */
  readonly name: string
  /** The delivery kinds it sends. Each kind must be owned by exactly one sender configuration. */
  readonly kinds: ReadonlyArray<DeliveryKind>
  readonly token: Redacted.Redacted<string>
  /** Bot API root without a trailing slash (Telegram's, a self-hosted server, the fake). */
  readonly apiRoot: string
  /** Global rate, messages per second. */
  readonly rate: number
  /** Messages per second to any one chat (default 1). */
  readonly chatRate?: number
  /** Sends in flight at once (default 3). */
  readonly concurrency?: number
  /** Rows claimed per query (default 50). */
  readonly batchSize?: number
  /** How long a claim holds a row; a crashed sender's rows are claimed again after it (60 s). */
  readonly lease?: Duration.DurationInput
  /** Tries of a message before it is `failed` (default 8). */
  readonly maxAttempts?: number
  /** Timeout of one Bot API call (default 15 s). */
  readonly timeout?: Duration.DurationInput
  /** How often to look for due rows without a notification (default 1 s). */
  readonly pollInterval?: Duration.DurationInput
  /** How long shutdown waits for in-flight sends before aborting them (default 5 s). */
  readonly shutdownTimeout?: Duration.DurationInput
  /** First retry delay after a transient failure; doubles per attempt (default 2 s). */
  readonly retryBase?: Duration.DurationInput
  /** Longest retry delay (default 5 min). */
  readonly retryMax?: Duration.DurationInput
  /** How often the depth and oldest-pending gauges are refreshed (default 5 s). */
  readonly statsInterval?: Duration.DurationInput
}

interface Settings {
  readonly name: string
  readonly kinds: ReadonlyArray<DeliveryKind>
  readonly rate: number
  readonly chatIntervalMs: number
  readonly concurrency: number
  readonly batchSize: number
  readonly leaseMs: number
  readonly maxAttempts: number
  readonly timeoutMs: number
  readonly pollMs: number
  readonly shutdownMs: number
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly statsMs: number
}

const ms = (d: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.toMillis(Duration.decode(d ?? fallback))

const settingsOf = (o: OutboxSenderOptions): Settings => ({
  name: o.name,
  kinds: o.kinds,
  rate: o.rate,
  chatIntervalMs: 1000 / (o.chatRate ?? 1),
  concurrency: o.concurrency ?? 3,
  batchSize: o.batchSize ?? 50,
  leaseMs: ms(o.lease, "60 seconds"),
  maxAttempts: o.maxAttempts ?? 8,
  timeoutMs: ms(o.timeout, "15 seconds"),
  pollMs: ms(o.pollInterval, "1 second"),
  shutdownMs: ms(o.shutdownTimeout, "5 seconds"),
  retryBaseMs: ms(o.retryBase, "2 seconds"),
  retryMaxMs: ms(o.retryMax, "5 minutes"),
  statsMs: ms(o.statsInterval, "5 seconds"),
})

/** A claimed row while this sender holds it; `lease` follows renewals. */
interface Held {
  readonly row: ClaimedRow
  lease: number
}

/** What became of one send. */
type Outcome =
  | { readonly _tag: "Sent"; readonly messageId: number; readonly at: number }
  | { readonly _tag: "Failed"; readonly error: string }
  | { readonly _tag: "Transient"; readonly error: string }
  | { readonly _tag: "Blocked"; readonly error: string }
  | { readonly _tag: "RateLimited"; readonly retryAfter: number }
  | { readonly _tag: "Unauthorized"; readonly error: string }
  /** Aborted by shutdown: back to `pending` untouched. */
  | { readonly _tag: "Aborted" }

/** A result waiting to be written by the marker. */
interface PendingMark {
  readonly held: Held
  readonly status: Mark["status"]
  readonly attempts: number
  readonly messageId?: number
  readonly sentAt?: number
  readonly error?: string
  readonly nextAt?: number
  /** The row holds a send slot until this mark is committed. */
  readonly holdsSlot: boolean
  readonly blockUser?: number
  readonly defer?: { readonly userId: number; readonly until: number }
}

type Pick =
  | { readonly _tag: "Send"; readonly index: number }
  | { readonly _tag: "Wait"; readonly ms: number | undefined }

type GrammySignal = Parameters<Api["sendMessage"]>[3]

const describeCause = (error: unknown) =>
  error instanceof Error ? error.message : typeof error === "string" ? error : String(error)

/**
 * Runs a sender until the scope closes. Needs only the `Database`; never fails (a database or
 * Bot API outage is logged and waited out).
 */
export const make = (
  options: OutboxSenderOptions,
): Effect.Effect<void, never, Database | Scope.Scope> =>
  Effect.gen(function* () {
    const s = settingsOf(options)
    const database = yield* Database
    const api = new Api(Redacted.value(options.token), {
      apiRoot: options.apiRoot,
      // Our own timeout (below) aborts first; grammY's is a backstop.
      timeoutSeconds: Math.ceil(s.timeoutMs / 1000) + 5,
    })
    const startedAt = yield* Clock.currentTimeMillis
    const bucket = new TokenBucket(s.rate, burstFor(s.rate), startedAt)
    const kindSet = new Set<string>(s.kinds)

    // --- state (only touched synchronously, so fibers never see it half-updated) ---
    let buffer: Held[] = []
    const inflight = new Map<number, Held>()
    const busyChats = new Set<number>()
    const chatReadyAt = new Map<number, number>()
    let pausedUntil = 0
    let transientStreak = 0
    let stopping = false
    let wantClaim = true
    let nextPollAt = 0
    let claimFailures = 0
    let nextRenewAt = startedAt + s.leaseMs / 3

    const pokes = yield* Queue.sliding<true>(1)
    const poke = () => {
      Queue.unsafeOffer(pokes, true)
    }
    const marks = yield* Queue.unbounded<PendingMark>()
    const sends = yield* FiberSet.make<void>()

    const count = (metric: Metric.Metric.Counter<number>, kind?: DeliveryKind, by = 1) => {
      const bySender = Metric.tagged(metric, "sender", s.name)
      return Metric.incrementBy(
        kind === undefined ? bySender : Metric.tagged(bySender, "kind", kind),
        by,
      )
    }

    const queueMark = (mark: PendingMark) => Queue.unsafeOffer(marks, mark)

    // --- sending one row ---

    const waitForToken: Effect.Effect<void> = Effect.gen(function* () {
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        if (now < pausedUntil) {
          yield* Effect.sleep(pausedUntil - now)
          continue
        }
        const wait = bucket.take(now)
        if (wait === 0) return
        yield* Effect.sleep(wait)
      }
    })

    const call = (chatId: number, message: OutgoingMessage): Effect.Effect<number, BotApiError> => {
      const method = message.type === "photo" ? "sendPhoto" : "sendMessage"
      const markup =
        message.buttons.length === 0
          ? {}
          : {
              reply_markup: {
                inline_keyboard: message.buttons as InlineKeyboardButton[][],
              },
            }
      const parseMode = message.html ? { parse_mode: "HTML" as const } : {}
      return Effect.tryPromise({
        try: (signal): Promise<{ readonly message_id?: unknown }> => {
          // grammY's Node typings name a polyfill's AbortSignal; Bun's native one is what it uses.
          const abort = signal as unknown as GrammySignal
          return message.type === "photo"
            ? api.sendPhoto(
                chatId,
                message.photo,
                { caption: message.caption, ...parseMode, ...markup },
                abort,
              )
            : api.sendMessage(chatId, message.text, { ...parseMode, ...markup }, abort)
        },
        catch: (error) => classify(method, error),
      }).pipe(
        Effect.timeoutFail({
          duration: s.timeoutMs,
          onTimeout: () =>
            new BotApiError({
              reason: "Transient",
              description: `no answer within ${s.timeoutMs} ms`,
            }),
        }),
        Effect.flatMap((answer) =>
          typeof answer?.message_id === "number"
            ? Effect.succeed(answer.message_id)
            : Effect.fail(
                new BotApiError({ reason: "Transient", description: "answer without message_id" }),
              ),
        ),
        Effect.withSpan(`OutboxSender.${method}`),
      )
    }

    const plain = (message: OutgoingMessage): OutgoingMessage =>
      message.type === "photo"
        ? { ...message, caption: Html.toPlainText(message.caption), html: false }
        : { ...message, text: Html.toPlainText(message.text), html: false }

    /** Sends `message`; on a refused photo sends `fallback`; on broken HTML sends plain text. */
    const sendWithFallbacks = (
      row: ClaimedRow,
      message: OutgoingMessage,
      fallback: OutgoingMessage | undefined,
    ): Effect.Effect<number, BotApiError> =>
      call(row.chatId, message).pipe(
        Effect.catchIf(
          (e) => e.reason === "BadPhoto" && message.type === "photo" && fallback !== undefined,
          (e) =>
            Effect.logInfo(`photo refused (${e.description}); sending the alert as text`).pipe(
              Effect.zipRight(count(Metrics.photoFallbacks, row.kind)),
              Effect.zipRight(waitForToken),
              Effect.zipRight(
                Effect.suspend(() => sendWithFallbacks(row, fallback ?? message, undefined)),
              ),
            ),
        ),
        Effect.catchIf(
          (e) => e.reason === "BadEntities" && message.html,
          (e) =>
            Effect.logError(
              `BUG: Telegram could not parse the HTML of delivery ${row.id} (${row.kind}): ${e.description}; sending it as plain text`,
            ).pipe(
              Effect.zipRight(count(Metrics.badHtml, row.kind)),
              Effect.zipRight(waitForToken),
              Effect.zipRight(
                Effect.suspend(() =>
                  sendWithFallbacks(
                    row,
                    plain(message),
                    fallback === undefined ? undefined : plain(fallback),
                  ),
                ),
              ),
            ),
        ),
      )

    /** The message of a row, or why it cannot be sent. */
    const prepare = (
      row: ClaimedRow,
    ): Effect.Effect<{ message: OutgoingMessage; fallback?: OutgoingMessage }, string> =>
      Effect.gen(function* () {
        if (row.kind === "listing" || row.kind === "price_drop") {
          const listing = yield* OutboxStore.decodeListing(row.listing)
          const priceDrop =
            row.kind === "price_drop"
              ? yield* Schema.decodeUnknown(PriceDropPayload)(row.payload).pipe(
                  Effect.mapError(() => "the price_drop payload is not { oldPrice, newPrice }"),
                )
              : undefined
          const now = new Date(yield* Clock.currentTimeMillis)
          const input = {
            listing,
            language: row.language,
            filterId: row.filterId,
            now,
            priceDrop,
          }
          const message = ListingAlert.render(input)
          return message.type === "photo"
            ? { message, fallback: ListingAlert.renderText(input) }
            : { message }
        }
        const payload = yield* Schema.decodeUnknown(TextPayload)(row.payload).pipe(
          Effect.mapError(() => "the payload is not a TextPayload { text, buttons? }"),
        )
        return {
          message: { type: "text", text: payload.text, html: true, buttons: payload.buttons ?? [] },
        }
      })

    const deliver = (held: Held): Effect.Effect<Outcome> =>
      prepare(held.row).pipe(
        Effect.matchEffect({
          onFailure: (error) => Effect.succeed<Outcome>({ _tag: "Failed", error }),
          onSuccess: ({ message, fallback }) =>
            sendWithFallbacks(held.row, message, fallback).pipe(
              Effect.flatMap((messageId) =>
                Effect.map(
                  Clock.currentTimeMillis,
                  (at): Outcome => ({ _tag: "Sent", messageId, at }),
                ),
              ),
              Effect.catchAll(
                (e): Effect.Effect<Outcome> =>
                  Effect.succeed(
                    e.reason === "RateLimited"
                      ? { _tag: "RateLimited", retryAfter: e.retryAfter ?? 1 }
                      : e.reason === "Blocked"
                        ? { _tag: "Blocked", error: e.message }
                        : e.reason === "Unauthorized"
                          ? { _tag: "Unauthorized", error: e.message }
                          : e.reason === "Transient"
                            ? { _tag: "Transient", error: e.message }
                            : { _tag: "Failed", error: e.message },
                  ),
              ),
            ),
        }),
        Effect.catchAllDefect((defect) =>
          Effect.logError(`BUG: rendering or sending delivery ${held.row.id} crashed`, defect).pipe(
            Effect.as<Outcome>({
              _tag: "Failed",
              error: `internal error: ${describeCause(defect)}`,
            }),
          ),
        ),
      )

    /** Exponential backoff with "equal jitter" (half fixed, half random); `r` in [0, 1). */
    const backoff = (attempt: number, r: number) => {
      const full = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.max(0, attempt - 1))
      return Math.round(full / 2 + (r * full) / 2)
    }

    /** Removes a chat's rows from the buffer (they are returned to the marker by the caller). */
    const takeChat = (chatId: number): Held[] => {
      const taken = buffer.filter((h) => h.row.chatId === chatId)
      if (taken.length > 0) buffer = buffer.filter((h) => h.row.chatId !== chatId)
      return taken
    }

    /**
     * Applies an outcome to the in-memory state and queues its marks, all synchronously (no
     * other fiber can see a half-applied outcome); returns the metrics and logs to emit.
     */
    const apply = (
      held: Held,
      outcome: Outcome,
      now: number,
      random: readonly [number, number],
    ): ReadonlyArray<Effect.Effect<void>> => {
      const { row } = held
      const attempts = row.attempts + 1
      const done: Array<Effect.Effect<void>> = []
      switch (outcome._tag) {
        case "Sent": {
          transientStreak = 0
          // The Clock counts whole milliseconds, so "now" may be up to 1 ms behind the moment
          // Telegram counted the message: one more keeps the gap at least the full interval.
          chatReadyAt.set(row.chatId, now + s.chatIntervalMs + 1)
          queueMark({
            held,
            status: "sent",
            attempts,
            messageId: outcome.messageId,
            sentAt: outcome.at,
            holdsSlot: true,
          })
          done.push(
            count(Metrics.sent, row.kind),
            Effect.logDebug(`sent delivery ${row.id} (${row.kind}) to ${row.chatId}`),
          )
          break
        }
        case "Failed": {
          // No cooldown: nothing reached the chat.
          queueMark({ held, status: "failed", attempts, error: outcome.error, holdsSlot: true })
          done.push(
            count(Metrics.failed, row.kind),
            Effect.logWarning(
              `delivery ${row.id} (${row.kind}) to ${row.chatId} failed: ${outcome.error}`,
            ),
          )
          break
        }
        case "Transient": {
          transientStreak += 1
          pausedUntil = Math.max(
            pausedUntil,
            now + Math.min(backoff(transientStreak, random[0]), 60_000),
          )
          if (attempts >= s.maxAttempts) {
            const error = `gave up after ${attempts} attempts: ${outcome.error}`
            queueMark({ held, status: "failed", attempts, error, holdsSlot: true })
            done.push(
              count(Metrics.failed, row.kind),
              Effect.logWarning(`delivery ${row.id} (${row.kind}) failed: ${error}`),
            )
            break
          }
          const nextAt = now + backoff(attempts, random[1])
          queueMark({
            held,
            status: "pending",
            attempts,
            error: outcome.error,
            nextAt,
            holdsSlot: true,
            ...(row.userId === null ? {} : { defer: { userId: row.userId, until: nextAt } }),
          })
          // The chat's later rows wait behind the retried one, so the chat keeps its order.
          for (const later of takeChat(row.chatId)) {
            queueMark({
              held: later,
              status: "pending",
              attempts: later.row.attempts,
              nextAt,
              holdsSlot: false,
            })
          }
          done.push(
            count(Metrics.retried, row.kind),
            Effect.logInfo(
              `delivery ${row.id} (${row.kind}) will be retried in ${nextAt - now} ms: ${outcome.error}`,
            ),
          )
          break
        }
        case "Blocked": {
          queueMark({
            held,
            status: "cancelled",
            attempts,
            error: outcome.error,
            holdsSlot: true,
            ...(row.userId === null ? {} : { blockUser: row.userId }),
          })
          for (const other of takeChat(row.chatId)) {
            queueMark({
              held: other,
              status: "cancelled",
              attempts: other.row.attempts,
              error: "the user blocked the bot",
              holdsSlot: false,
            })
          }
          done.push(
            count(Metrics.cancelled, row.kind),
            Effect.logInfo(
              `chat ${row.chatId} blocked the bot (${outcome.error}); cancelling its messages`,
            ),
          )
          break
        }
        case "RateLimited": {
          // Not the message's fault: back to the front of the queue, no attempt used.
          inflight.delete(row.id)
          buffer.unshift(held)
          pausedUntil = Math.max(pausedUntil, now + outcome.retryAfter * 1000)
          done.push(
            count(Metrics.rateLimited),
            Effect.logWarning(
              `Telegram answered 429: pausing for ${outcome.retryAfter} s (delivery ${row.id})`,
            ),
          )
          break
        }
        case "Unauthorized": {
          inflight.delete(row.id)
          buffer.unshift(held)
          pausedUntil = Math.max(pausedUntil, now + Math.min(s.retryMaxMs, 60_000))
          done.push(
            Effect.logError(
              `the Bot API rejected the bot token (${outcome.error}); pausing sends, check BOT_TOKEN`,
            ),
          )
          break
        }
        case "Aborted": {
          queueMark({ held, status: "pending", attempts: row.attempts, holdsSlot: true })
          break
        }
      }
      busyChats.delete(row.chatId)
      poke()
      return done
    }

    const settle = (held: Held, outcome: Outcome): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const random = [yield* Random.next, yield* Random.next] as const
        yield* Effect.all(apply(held, outcome, now, random), { discard: true })
      })

    /** Moves a buffered row in flight and forks its send, atomically (even on interruption). */
    const startSend = (held: Held) =>
      Effect.suspend(() => {
        // Found again here: other fibers may have reshuffled the buffer since it was picked.
        const index = buffer.indexOf(held)
        if (index < 0) return Effect.void
        buffer.splice(index, 1)
        inflight.set(held.row.id, held)
        busyChats.add(held.row.chatId)
        // Only the Bot API call can be interrupted (shutdown aborts it); settling must not be
        // cut short, or the row would stay `sending` and its slot taken.
        return FiberSet.run(
          sends,
          Effect.interruptible(deliver(held)).pipe(
            Effect.onInterrupt(() => settle(held, { _tag: "Aborted" })),
            Effect.flatMap((outcome) => settle(held, outcome)),
            Effect.uninterruptible,
          ),
        )
      }).pipe(Effect.uninterruptible)

    // --- the dispatcher: claims and starts sends ---

    // A send (with its fallbacks) must end well before the row's lease does.
    const minLeaseLeft = s.timeoutMs + 500

    const pickNext = (now: number): Pick => {
      if (now < pausedUntil) return { _tag: "Wait", ms: pausedUntil - now }
      if (inflight.size >= s.concurrency) return { _tag: "Wait", ms: undefined }
      if (chatReadyAt.size > 10_000) {
        for (const [chat, at] of chatReadyAt) if (at <= now) chatReadyAt.delete(chat)
      }
      let earliest = Number.POSITIVE_INFINITY
      const seen = new Set<number>()
      for (let i = 0; i < buffer.length; i++) {
        const held = buffer[i] as Held
        const chat = held.row.chatId
        if (seen.has(chat)) continue
        seen.add(chat)
        if (busyChats.has(chat)) continue
        const ready = chatReadyAt.get(chat) ?? 0
        if (ready > now) {
          earliest = Math.min(earliest, ready)
          continue
        }
        return { _tag: "Send", index: i }
      }
      return {
        _tag: "Wait",
        ms: earliest === Number.POSITIVE_INFINITY ? undefined : earliest - now,
      }
    }

    const claimRows = (now: number) =>
      OutboxStore.claim({
        kinds: s.kinds,
        now,
        leaseUntil: now + s.leaseMs,
        limit: s.batchSize,
        maxAttempts: s.maxAttempts,
      }).pipe(
        Effect.tap((rows) =>
          Effect.gen(function* () {
            claimFailures = 0
            // A full batch: there is likely more. Otherwise wait for a NOTIFY or the next poll
            // (a claim per trickling row, not two).
            wantClaim = rows.length === s.batchSize
            nextPollAt = now + s.pollMs
            for (const row of rows) {
              const held: Held = { row, lease: row.lease }
              if (row.blocked) {
                queueMark({
                  held,
                  status: "cancelled",
                  attempts: row.attempts,
                  error: "the user blocked the bot",
                  holdsSlot: false,
                })
                yield* count(Metrics.cancelled, row.kind)
              } else {
                buffer.push(held)
              }
            }
            if (rows.length > 0) yield* Effect.logDebug(`claimed ${rows.length} deliveries`)
          }),
        ),
        Effect.catchAll((e) =>
          Effect.sync(() => {
            claimFailures += 1
            nextPollAt = now + Math.min(30_000, 500 * 2 ** claimFailures)
            wantClaim = false
          }).pipe(Effect.zipRight(Effect.logWarning(`claiming deliveries failed: ${e.message}`))),
        ),
        // Interrupting a claim after the database ran it would leave rows `sending` unseen.
        Effect.uninterruptible,
      )

    const sleepOrPoke = (wait: number | undefined) =>
      wait === undefined
        ? Queue.take(pokes)
        : Queue.take(pokes).pipe(Effect.timeout(Math.max(1, wait)), Effect.ignore)

    const dispatchStep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const lowWater = Math.ceil(s.batchSize / 2)
      if (buffer.length < lowWater && now >= pausedUntil && (wantClaim || now >= nextPollAt)) {
        yield* claimRows(now)
        return
      }
      const pick = pickNext(now)
      if (pick._tag === "Send") {
        const held = buffer[pick.index] as Held
        if (held.lease - now < minLeaseLeft) {
          // Renewals have been failing: the lease may lapse mid-send and another sender take
          // the row. Leave it; it is claimed again once the lease expires.
          buffer.splice(pick.index, 1)
          yield* Effect.logWarning(`dropping delivery ${held.row.id}: its lease is about to expire`)
          return
        }
        const wait = bucket.take(now)
        if (wait > 0) {
          yield* sleepOrPoke(wait)
          return
        }
        yield* startSend(held)
        return
      }
      const untilPoll =
        buffer.length < lowWater && !stopping ? Math.max(1, nextPollAt - now) : undefined
      const wait =
        pick.ms === undefined
          ? untilPoll
          : untilPoll === undefined
            ? pick.ms
            : Math.min(pick.ms, untilPoll)
      yield* sleepOrPoke(wait)
    })

    const dispatcher = Effect.gen(function* () {
      while (!stopping) {
        yield* dispatchStep.pipe(
          Effect.catchAllCause((cause) =>
            Effect.logError("outbox dispatcher failed; continuing", cause).pipe(
              Effect.zipRight(Effect.sleep("1 second")),
            ),
          ),
        )
      }
    })

    // --- the marker: writes results and renews leases ---

    /** Results taken from the queue and not yet committed; survive an interrupted marker. */
    let unflushed: PendingMark[] = []

    /** One attempt to write `unflushed`; never cut short (a lost batch would strand rows). */
    const flushOnce = Effect.gen(function* () {
      const batch = unflushed
      if (batch.length === 0) return
      const now = yield* Clock.currentTimeMillis
      const blockedUsers = new Set<number>()
      const deferrals = new Map<number, number>()
      for (const m of batch) {
        if (m.blockUser !== undefined) blockedUsers.add(m.blockUser)
        if (m.defer !== undefined) {
          deferrals.set(m.defer.userId, Math.max(deferrals.get(m.defer.userId) ?? 0, m.defer.until))
        }
      }
      for (const user of blockedUsers) deferrals.delete(user)
      const result = yield* OutboxStore.complete({
        marks: batch.map(
          (m): Mark => ({
            id: m.held.row.id,
            lease: m.held.lease,
            status: m.status,
            attempts: m.attempts,
            ...(m.messageId === undefined ? {} : { messageId: m.messageId }),
            ...(m.sentAt === undefined ? {} : { sentAt: m.sentAt }),
            ...(m.error === undefined ? {} : { error: m.error }),
            ...(m.nextAt === undefined ? {} : { nextAt: m.nextAt }),
          }),
        ),
        blockedUsers: [...blockedUsers],
        deferrals: [...deferrals].map(([userId, until]) => ({ userId, until })),
        kinds: s.kinds,
        now,
      })
      unflushed = []
      if (result.marked < batch.length) {
        yield* Effect.logWarning(
          `${batch.length - result.marked} delivery results were not recorded: their lease had expired and another sender took them`,
        )
      }
      if (result.blocked > 0) yield* count(Metrics.blockedUsers, undefined, result.blocked)
      if (result.cancelled > 0) yield* count(Metrics.cancelled, undefined, result.cancelled)
      for (const m of batch) if (m.holdsSlot) inflight.delete(m.held.row.id)
      poke()
    }).pipe(Effect.uninterruptible)

    /** Writes everything queued so far, retrying while the database is unavailable. */
    const flush = Effect.gen(function* () {
      unflushed = [...unflushed, ...(yield* Queue.takeAll(marks))]
      yield* flushOnce
    }).pipe(
      Effect.tapError((e) =>
        Effect.logWarning(`recording ${unflushed.length} delivery results failed: ${e.message}`),
      ),
      Effect.retry(
        Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds"))),
      ),
    )

    const renewLeases = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      nextRenewAt = now + s.leaseMs / 3
      const held = [...buffer, ...inflight.values()]
      if (held.length === 0) return
      const leaseUntil = now + s.leaseMs
      const renewed = yield* OutboxStore.renew(
        held.map((h) => ({ id: h.row.id, lease: h.lease })),
        leaseUntil,
      )
      for (const h of held) if (renewed.has(h.row.id)) h.lease = leaseUntil
      const lost = held.filter((h) => !renewed.has(h.row.id))
      if (lost.length > 0) {
        const lostIds = new Set(lost.map((h) => h.row.id))
        buffer = buffer.filter((h) => !lostIds.has(h.row.id))
        yield* Effect.logWarning(`lost the lease of ${lost.length} deliveries; dropped them`)
      }
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning(`renewing delivery leases failed: ${e.message}`)),
      Effect.uninterruptible,
    )

    const markerStep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const first = yield* Queue.take(marks).pipe(
        Effect.timeout(Math.max(1, nextRenewAt - now)),
        Effect.option,
      )
      if (Option.isSome(first)) {
        unflushed.push(first.value)
        yield* flush
      }
      if ((yield* Clock.currentTimeMillis) >= nextRenewAt) yield* renewLeases
    })

    const marker = markerStep.pipe(
      Effect.catchAllCause((cause) =>
        Effect.logError("outbox marker failed; continuing", cause).pipe(
          Effect.zipRight(Effect.sleep("1 second")),
        ),
      ),
      Effect.forever,
    )

    // --- gauges ---

    const refreshStats = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const stats = yield* OutboxStore.stats(s.kinds, now)
      yield* Metric.set(Metrics.outboxDepth.pipe(Metric.tagged("sender", s.name)), stats.depth)
      yield* Metric.set(
        Metrics.oldestPendingSeconds.pipe(Metric.tagged("sender", s.name)),
        stats.oldestSeconds,
      )
    }).pipe(Effect.catchAll((e) => Effect.logDebug(`outbox stats failed: ${e.message}`)))

    // --- wake-ups: NOTIFY from the deliveries trigger ---

    yield* Effect.acquireRelease(
      Effect.tryPromise(() =>
        database.sql.listen(
          NOTIFY_CHANNEL,
          (payload) => {
            if (payload.split(",").some((k) => kindSet.has(k))) {
              wantClaim = true
              poke()
            }
          },
          // (Re)connected: anything queued while we were not listening is due now.
          () => {
            wantClaim = true
            poke()
          },
        ),
      ).pipe(
        Effect.map(Option.some),
        Effect.catchAll((e) =>
          Effect.logWarning(
            `cannot LISTEN ${NOTIFY_CHANNEL} (${describeCause(e.error)}); polling every ${s.pollMs} ms only`,
          ).pipe(Effect.as(Option.none())),
        ),
      ),
      (listener) =>
        Option.match(listener, {
          onNone: () => Effect.void,
          onSome: (l) => Effect.promise(() => l.unlisten().catch(() => undefined)),
        }),
    )

    const dispatcherFiber = yield* Effect.forkScoped(dispatcher)
    const markerFiber = yield* Effect.forkScoped(marker)
    const statsFiber = yield* Effect.forkScoped(
      refreshStats.pipe(Effect.repeat(Schedule.spaced(s.statsMs))),
    )
    yield* Effect.logInfo(
      `outbox sender started: ${s.kinds.join(", ")} at ${s.rate} msg/s, ${s.concurrency} in flight`,
    )

    // Added after the forks, so it runs before the scope interrupts them.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const began = yield* Clock.currentTimeMillis
        stopping = true
        poke()
        yield* Fiber.interrupt(dispatcherFiber)
        // Finalizers run uninterruptibly: the waits below opt back in so their deadlines work.
        const finished = yield* FiberSet.awaitEmpty(sends).pipe(
          Effect.interruptible,
          Effect.timeout(s.shutdownMs),
          Effect.option,
        )
        if (Option.isNone(finished)) {
          yield* Effect.logWarning(
            `${yield* FiberSet.size(sends)} sends did not finish within ${s.shutdownMs} ms; aborting them`,
          )
          yield* FiberSet.clear(sends)
        }
        yield* Fiber.interrupt(markerFiber)
        yield* Fiber.interrupt(statsFiber)
        const left = buffer
        buffer = []
        for (const held of left) {
          queueMark({ held, status: "pending", attempts: held.row.attempts, holdsSlot: false })
        }
        yield* flush.pipe(
          Effect.interruptible,
          Effect.timeout(Math.max(1000, s.shutdownMs)),
          Effect.catchAll(() =>
            Effect.logWarning(
              "could not record the last delivery results; their rows return to the queue when their lease expires",
            ),
          ),
        )
        const took = (yield* Clock.currentTimeMillis) - began
        yield* Effect.logInfo(
          `outbox sender stopped in ${took} ms; ${left.length} unsent claimed rows returned to pending`,
        )
      }),
    )
  }).pipe(Effect.annotateLogs({ sender: options.name }))

/** The sender as a Layer that provides nothing. */
export const layer = (options: OutboxSenderOptions): Layer.Layer<never, never, Database> =>
  Layer.scopedDiscard(make(options))

/** How a component configures its sender from the environment. */
export interface SenderConfigOptions {
  readonly name: string
  readonly kinds: ReadonlyArray<DeliveryKind>
  /** The variable with this sender's global rate (msg/s), e.g. `PARSER_SEND_RATE`. */
  readonly rateVariable: string
  readonly defaultRate: number
}

/**
 * Which sender owns which kinds. The parser's sender takes the time-critical listing alerts and
 * the admin notices about sources; the subscriptions sender, at a low rate, takes reminders,
 * expiry notices, other notices and admin broadcasts, so a broadcast to every user never holds
 * listing alerts back. Every kind is owned exactly once.
 */
export const presets = {
  parser: {
    name: "parser",
    kinds: ["listing", "price_drop", "admin_notice"],
    rateVariable: "PARSER_SEND_RATE",
    defaultRate: 25,
  },
  subscriptions: {
    name: "subscriptions",
    kinds: ["reminder", "expired", "notice", "broadcast"],
    rateVariable: "SUBSCRIPTIONS_SEND_RATE",
    defaultRate: 4,
  },
} as const satisfies Record<string, SenderConfigOptions>

const between = (min: number, max: number) => ({
  message: `must be between ${min} and ${max}`,
  validation: (n: number) => n >= min && n <= max,
})

/**
 * The sender's options from the environment: `BOT_TOKEN`, `TELEGRAM_API_ROOT`, the rate variable
 * named by `rateVariable`, `SEND_CHAT_RATE`, `SEND_CONCURRENCY`, `SEND_BATCH_SIZE`, `SEND_LEASE`,
 * `SEND_MAX_ATTEMPTS`, `TELEGRAM_TIMEOUT`, `SEND_POLL_INTERVAL`, `SEND_SHUTDOWN_TIMEOUT`,
 * `SEND_RETRY_BASE`, `SEND_RETRY_MAX` (see the README). A bad value fails naming the variable.
 */
export const config = (sender: SenderConfigOptions): Config.Config<OutboxSenderOptions> => {
  const number = (name: string, fallback: number, min: number, max: number) =>
    Config.number(name).pipe(Config.validate(between(min, max)), Config.withDefault(fallback))
  const integer = (name: string, fallback: number, min: number, max: number) =>
    Config.integer(name).pipe(Config.validate(between(min, max)), Config.withDefault(fallback))
  return Config.all({
    token: botToken,
    apiRoot,
    rate: number(sender.rateVariable, sender.defaultRate, 0.01, 1000),
    chatRate: number("SEND_CHAT_RATE", 1, 0.01, 30),
    concurrency: integer("SEND_CONCURRENCY", 3, 1, 100),
    batchSize: integer("SEND_BATCH_SIZE", 50, 1, 1000),
    lease: positiveDuration("SEND_LEASE", "60 seconds"),
    maxAttempts: integer("SEND_MAX_ATTEMPTS", 8, 1, 100),
    timeout: callTimeout,
    pollInterval: positiveDuration("SEND_POLL_INTERVAL", "1 second"),
    shutdownTimeout: positiveDuration("SEND_SHUTDOWN_TIMEOUT", "5 seconds"),
    retryBase: positiveDuration("SEND_RETRY_BASE", "2 seconds"),
    retryMax: positiveDuration("SEND_RETRY_MAX", "5 minutes"),
  }).pipe(
    Config.mapOrFail((c) =>
      Duration.greaterThan(c.lease, Duration.times(c.timeout, 2))
        ? Either.right<OutboxSenderOptions>({ ...c, name: sender.name, kinds: sender.kinds })
        : Either.left(
            ConfigError.InvalidData(
              ["SEND_LEASE"],
              "must be longer than twice TELEGRAM_TIMEOUT (a send must finish within its lease)",
            ),
          ),
    ),
  )
}

/** The sender configured from the environment (see `config`), as a Layer that provides nothing. */
export const layerConfig = (
  sender: SenderConfigOptions,
): Layer.Layer<never, ConfigError.ConfigError, Database> =>
  Layer.scopedDiscard(Effect.flatMap(config(sender), make))
