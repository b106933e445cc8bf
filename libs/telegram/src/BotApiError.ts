/**
 * What a failed Bot API call means for the caller, decided once from Telegram's answer:
 *
 * - `RateLimited` (429): wait `retryAfter` seconds, then try again; not the message's fault.
 * - `Blocked` (403): the user blocked the bot, deleted their account, or never started it.
 * - `BadPhoto` (400 on sendPhoto about the photo): send the same content without the photo.
 * - `BadEntities` (400 "can't parse entities"): our HTML is broken (a bug); send as plain text.
 * - `BadRequest` (any other 400): the request itself is wrong; retrying cannot help.
 * - `Unauthorized` (401, 404): the token is wrong or revoked; nothing can be sent at all.
 * - `Transient` (5xx, network failure, timeout, an answer that is not the Bot API's JSON).
 *
 * Descriptions never contain the token or the request URL, so they are safe to log and store.
 */
import { Data } from "effect"
import { GrammyError, HttpError } from "grammy"

export class BotApiError extends Data.TaggedError("BotApiError")<{
  readonly reason:
    | "RateLimited"
    | "Blocked"
    | "BadPhoto"
    | "BadEntities"
    | "BadRequest"
    | "Unauthorized"
    | "Transient"
  /** Telegram's description (`Forbidden: bot was blocked by the user`) or what went wrong. */
  readonly description: string
  /** HTTP-like code of Telegram's answer; absent for network failures. */
  readonly code?: number
  /** Seconds to wait, for `RateLimited`. */
  readonly retryAfter?: number
}> {
  override get message(): string {
    return this.code === undefined ? this.description : `${this.code}: ${this.description}`
  }
}

const PHOTO_PROBLEM =
  /wrong file identifier|wrong remote file|failed to get HTTP URL content|wrong type of the web page content|HTTP URL specified|IMAGE_PROCESS_FAILED|PHOTO_|photo|image|file (is )?too big|wrong padding/i

/** The error's description with anything that looks like a bot token masked. */
const safe = (text: string): string => text.replace(/\d{5,}:[A-Za-z0-9_-]{20,}/g, "<token>")

const networkDescription = (error: HttpError): string => {
  const inner = error.error as { code?: unknown; name?: unknown } | undefined
  const code = typeof inner?.code === "string" ? inner.code : undefined
  const name = typeof inner?.name === "string" ? inner.name : undefined
  // A body that is not JSON (a proxy's error page) fails in `res.json()` with a SyntaxError.
  if (name === "SyntaxError") return "the answer is not Bot API JSON"
  if (name === "AbortError" || name === "TimeoutError") return "the request was aborted"
  return `network error${code !== undefined ? ` ${code}` : name !== undefined ? ` (${name})` : ""}`
}

/** Classifies whatever a grammY `Api` call threw (`GrammyError`, `HttpError`, anything else). */
export const classify = (method: string, error: unknown): BotApiError => {
  if (error instanceof BotApiError) return error
  if (error instanceof GrammyError) {
    const code = error.error_code
    const description = safe(error.description)
    if (code === 429) {
      const retryAfter = Math.max(1, Number(error.parameters.retry_after ?? 1))
      return new BotApiError({ reason: "RateLimited", description, code, retryAfter })
    }
    if (code === 403) return new BotApiError({ reason: "Blocked", description, code })
    if (code === 401 || code === 404) {
      return new BotApiError({ reason: "Unauthorized", description, code })
    }
    if (code === 400 && /can't parse entities/i.test(description)) {
      return new BotApiError({ reason: "BadEntities", description, code })
    }
    if (code === 400 && method === "sendPhoto" && PHOTO_PROBLEM.test(description)) {
      return new BotApiError({ reason: "BadPhoto", description, code })
    }
    if (code >= 500) return new BotApiError({ reason: "Transient", description, code })
    return new BotApiError({ reason: "BadRequest", description, code })
  }
  if (error instanceof HttpError) {
    return new BotApiError({ reason: "Transient", description: networkDescription(error) })
  }
  const description = error instanceof Error ? `${error.name}: ${safe(error.message)}` : "unknown"
  return new BotApiError({ reason: "Transient", description })
}
