import { Data } from "effect"
import type { Wall } from "./BotWall.ts"

/**
 * A request that did not produce a usable page. `Blocked`: the site refused us (401, 403, a 429
 * that does not go away, or a bot wall whatever the status, see `BotWall`): the source backs off. `Status`: another non-2xx answer (after
 * retries for 5xx). `Network`/`Timeout`: after retries. `TooLarge`: over `maxBytes`.
 */
export class FetchError extends Data.TaggedError("FetchError")<{
  readonly reason: "Network" | "Timeout" | "Status" | "TooLarge" | "Blocked"
  /** Origin and path only: query strings can carry keys. */
  readonly url: string
  readonly status?: number
  readonly message: string
  /** The bot wall that answered, when one was recognised (a `Blocked` error only). */
  readonly wall?: Wall
  readonly cause?: unknown
}> {}

/** Origin and path of a URL, for logs and errors. */
export const describeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return "an invalid URL"
  }
}
