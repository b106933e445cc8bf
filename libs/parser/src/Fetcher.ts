import {
  Clock,
  Data,
  Duration,
  Effect,
  HashMap,
  Metric,
  Option,
  Random,
  Redacted,
  Ref,
} from "effect"
import { describeWall, detectWall } from "./BotWall.ts"
import { Browser } from "./Browser.ts"
import { describeUrl, FetchError } from "./FetchError.ts"
import type { FetchMode } from "./FetchMode.ts"
import { makeFetchRoutes } from "./FetchRoutes.ts"
import { ParserMetrics } from "./ParserMetrics.ts"

/** A browser's User-Agent: some sites answer a bare HTTP client with a block page. */
export const DEFAULT_USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

/** How one source fetches: every request of the source uses these. */
export interface FetchOptions {
  /** For logs and metrics. */
  readonly source: string
  /** Per attempt, including reading the body. */
  readonly timeout: Duration.Duration
  /** Extra attempts after a network error, a timeout or a 5xx (and after a 429). */
  readonly retries: number
  /** First retry delay; doubles on each retry, with +-50% jitter. */
  readonly backoff: Duration.Duration
  /** The longest `Retry-After` waited for; a 429 asking for longer means blocked. */
  readonly maxRetryAfter: Duration.Duration
  /** Least time between the starts of two requests to one site (scheme, host and port). */
  readonly politeness: Duration.Duration
  readonly userAgent: string
  readonly acceptLanguage: string
  /** An HTTP(S) proxy URL; may carry credentials, so it is redacted. */
  readonly proxy: Option.Option<Redacted.Redacted<string>>
  /** Responses longer than this many bytes are cut off and fail with `TooLarge`. */
  readonly maxBytes: number
  /** `http` (the default), `browser` or `auto`: see `FetchMode`. */
  readonly mode?: FetchMode | undefined
  /** What the browser waits for before it takes a page (`browser` and `auto` only). */
  readonly render?: RenderSpec | undefined
  /**
   * A page of the site in whose session the browser sends requests that are not page loads (a
   * JSON API's POST); default: the request URL's origin.
   */
  readonly siteUrl?: string | undefined
}

/**
 * When a page loaded in the browser counts as rendered: once any of `waitFor` (CSS selectors:
 * the result list, an empty-results marker) matches, within the fetch timeout. A page that
 * never shows one is a timeout, or blocked when the parser calls it a wall.
 */
export interface RenderSpec {
  readonly waitFor: ReadonlyArray<string>
  /**
   * The answer is data (a JSON endpoint), not a page: the browser fetches it from inside a page
   * of the site (`siteUrl`), as it does for requests that are not GETs.
   */
  readonly asData?: boolean | undefined
}

/**
 * THE wall check of `fetch: auto` on a parsed page (a page behind it makes an `auto` source
 * switch to the browser): the parser's `Blocked`, which every parser gives for the common bot
 * walls (`BotWall.wallPage`) as well as for its site's own block markers. A plain answer that is
 * a wall by status, headers or body (`detectWall`) already fails in the Fetcher as `Blocked`,
 * which sends an `auto` source to the browser too.
 */
export const isWallPage = (page: { readonly _tag: string }): boolean => page._tag === "Blocked"

/** A fetched page and what the source's parser made of it. */
export interface FetchedPage<A> {
  readonly response: FetchResponse
  readonly page: A
}

export const defaultFetchOptions = (source: string): FetchOptions => ({
  source,
  timeout: Duration.seconds(20),
  retries: 3,
  backoff: Duration.seconds(1),
  maxRetryAfter: Duration.seconds(60),
  politeness: Duration.seconds(1),
  userAgent: DEFAULT_USER_AGENT,
  acceptLanguage: "en-US,en;q=0.9",
  proxy: Option.none(),
  maxBytes: 10 * 1024 * 1024,
})

export interface FetchRequest {
  readonly url: string
  readonly method?: "GET" | "POST"
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
}

export interface FetchResponse {
  /** The final URL, after redirects. */
  readonly url: string
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

export { describeUrl, FetchError }

/** Seconds or an HTTP date, as milliseconds from `now`; none when absent or unreadable. */
export const parseRetryAfter = (value: string | null, now: number): Option.Option<number> => {
  if (value === null) return Option.none()
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Option.some(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? Option.none() : Option.some(Math.max(0, date - now))
}

/**
 * A decoder for the charset the response declares; UTF-8 when it declares none or one the
 * runtime does not know (a typo in a header must not turn every fetch into a network error).
 */
const decoderFor = (contentType: string | null): TextDecoder => {
  const label = /charset=["']?([\w:.-]+)/i.exec(contentType ?? "")?.[1]?.toLowerCase()
  try {
    // Bun's typings list a few labels; the runtime knows the WHATWG set (windows-1251, ...).
    return new TextDecoder((label ?? "utf-8") as ConstructorParameters<typeof TextDecoder>[0])
  } catch {
    return new TextDecoder("utf-8")
  }
}

class Transient extends Data.TaggedError("Transient")<{
  readonly error: FetchError
  readonly retryAfter: Option.Option<number>
}> {}

/**
 * HTTP for the sources: timeouts, retries with exponential backoff and jitter on network errors
 * and 5xx, `Retry-After` on 429, 401/403 and bot walls (`detectWall`) as `Blocked`, a politeness delay per site shared by
 * every source in the process, browser-like headers, an optional proxy and a size cap.
 */
export class Fetcher extends Effect.Service<Fetcher>()("@flatwatch/parser/Fetcher", {
  effect: Effect.gen(function* () {
    /** The earliest start of the next request, per site. */
    const nextSlot = yield* Ref.make(HashMap.empty<string, number>())

    const waitForTurn = (site: string, politeness: Duration.Duration) =>
      Effect.gen(function* () {
        const gap = Duration.toMillis(politeness)
        if (gap <= 0) return
        const now = yield* Clock.currentTimeMillis
        const wait = yield* Ref.modify(nextSlot, (slots) => {
          const slot = Math.max(
            now,
            Option.getOrElse(HashMap.get(slots, site), () => now),
          )
          return [slot - now, HashMap.set(slots, site, slot + gap)] as const
        })
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
      })

    const readBody = (response: Response, url: string, maxBytes: number) =>
      Effect.tryPromise({
        try: async (signal) => {
          const declared = Number(response.headers.get("content-length") ?? "0")
          if (declared > maxBytes) {
            await response.body?.cancel()
            throw new TooLargeSignal()
          }
          const reader = response.body?.getReader()
          if (reader === undefined) return ""
          // A timeout or shutdown interrupts this read: cancel the body so the connection to a
          // site that stalls mid-page is closed, not left reading in the background.
          signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined), {
            once: true,
          })
          const chunks: Array<Uint8Array> = []
          let size = 0
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            size += value.byteLength
            if (size > maxBytes) {
              await reader.cancel()
              throw new TooLargeSignal()
            }
            chunks.push(value)
          }
          return decoderFor(response.headers.get("content-type")).decode(Buffer.concat(chunks))
        },
        catch: (cause) =>
          cause instanceof TooLargeSignal
            ? new FetchError({
                reason: "TooLarge",
                url: describeUrl(url),
                status: response.status,
                message: `response larger than ${maxBytes} bytes`,
              })
            : new FetchError({
                reason: "Network",
                url: describeUrl(url),
                message: `reading the response failed: ${String(cause)}`,
                cause,
              }),
      })

    const once = (request: FetchRequest, options: FetchOptions) =>
      Effect.gen(function* () {
        const url = describeUrl(request.url)
        const response = yield* Effect.tryPromise({
          try: (signal) =>
            fetch(request.url, {
              method: request.method ?? "GET",
              headers: {
                "user-agent": options.userAgent,
                "accept-language": options.acceptLanguage,
                accept: "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
                ...request.headers,
              },
              ...(request.body === undefined ? {} : { body: request.body }),
              ...Option.match(options.proxy, {
                onNone: () => ({}),
                onSome: (proxy) => ({ proxy: Redacted.value(proxy) }),
              }),
              redirect: "follow",
              signal,
            }),
          catch: (cause) =>
            new FetchError({
              reason: "Network",
              url,
              message: `request failed: ${cause instanceof Error ? cause.message : String(cause)}`,
              cause,
            }),
        })
        const body = yield* readBody(response, request.url, options.maxBytes)
        return {
          url: response.url || request.url,
          status: response.status,
          headers: response.headers,
          body,
        }
      }).pipe(
        Effect.timeoutFail({
          duration: options.timeout,
          onTimeout: () =>
            new FetchError({
              reason: "Timeout",
              url: describeUrl(request.url),
              message: `no complete answer within ${Duration.format(options.timeout)}`,
            }),
        }),
      )

    /** One attempt, classified: success, a final failure, or a transient one worth retrying. */
    const classify = (request: FetchRequest, options: FetchOptions) =>
      Effect.gen(function* () {
        const site = URL.canParse(request.url) ? new URL(request.url).origin : request.url
        yield* waitForTurn(site, options.politeness)
        const response = yield* once(request, options).pipe(
          Effect.catchIf(
            (e) => e.reason === "Network" || e.reason === "Timeout",
            (error) => Effect.fail(new Transient({ error, retryAfter: Option.none() })),
          ),
        )
        const url = describeUrl(request.url)
        const status = response.status
        // Before the status: walls answer 200 as often as 403, and a 429 or 503 that is a
        // challenge page will not go away by retrying.
        const wall = detectWall(response)
        if (wall !== null) {
          return yield* new FetchError({
            reason: "Blocked",
            url,
            status,
            message: describeWall(wall, status),
            wall,
          })
        }
        if (status >= 200 && status < 300) return response
        if (status === 401 || status === 403) {
          return yield* new FetchError({
            reason: "Blocked",
            url,
            status,
            message: `HTTP ${status}: the site refused the request`,
          })
        }
        if (status === 429) {
          const now = yield* Clock.currentTimeMillis
          const retryAfter = parseRetryAfter(response.headers.get("retry-after"), now)
          const tooLong = Option.exists(
            retryAfter,
            (ms) => ms > Duration.toMillis(options.maxRetryAfter),
          )
          const error = new FetchError({
            reason: "Blocked",
            url,
            status,
            message: `HTTP 429: rate limited${Option.match(retryAfter, {
              onNone: () => "",
              onSome: (ms) => ` (Retry-After ${Math.ceil(ms / 1000)} s)`,
            })}`,
          })
          return yield* tooLong
            ? Effect.fail(error)
            : Effect.fail(new Transient({ error, retryAfter }))
        }
        const error = new FetchError({ reason: "Status", url, status, message: `HTTP ${status}` })
        return yield* status >= 500
          ? Effect.fail(new Transient({ error, retryAfter: Option.none() }))
          : Effect.fail(error)
      })

    const fetchWith = (
      request: FetchRequest,
      options: FetchOptions,
    ): Effect.Effect<FetchResponse, FetchError> => {
      const attempt = (n: number): Effect.Effect<FetchResponse, FetchError> =>
        classify(request, options).pipe(
          Effect.catchTag("Transient", ({ error, retryAfter }) =>
            Effect.gen(function* () {
              if (n >= options.retries) return yield* error
              const base = Duration.toMillis(options.backoff) * 2 ** n
              const jitter = yield* Random.nextRange(0.5, 1.5)
              const delay = Option.getOrElse(retryAfter, () => Math.round(base * jitter))
              yield* Effect.logDebug(
                `${error.message} from ${error.url}; retry ${n + 1}/${options.retries} in ${delay} ms`,
              )
              yield* Metric.increment(ParserMetrics.fetchRetries(options.source))
              yield* Effect.sleep(Duration.millis(delay))
              return yield* attempt(n + 1)
            }),
          ),
        )
      return attempt(0).pipe(
        Effect.tap(() => Metric.increment(ParserMetrics.requests(options.source, "ok"))),
        Effect.tapError((e) =>
          Metric.increment(ParserMetrics.requests(options.source, e.reason.toLowerCase())),
        ),
        Effect.withSpan("Fetcher.fetch", { attributes: { url: describeUrl(request.url) } }),
      )
    }

    const { throughBrowser, plainPage, auto, via } = makeFetchRoutes({
      browser: yield* Effect.serviceOption(Browser),
      plain: fetchWith,
      waitForTurn,
    })

    const fetchPage = <A>(
      request: FetchRequest,
      options: FetchOptions,
      read: (response: FetchResponse) => Effect.Effect<A>,
      isWall: (page: A) => boolean,
    ): Effect.Effect<FetchedPage<A>, FetchError> => {
      switch (options.mode ?? "http") {
        case "http":
          return plainPage(request, options, read)
        case "browser":
          return throughBrowser(request, options, read, isWall)
        case "auto":
          return auto(request, options, read, isWall)
      }
    }

    return {
      /**
       * Fetches `request` as `options` say (plain HTTP, the browser, or `auto`); the body is
       * decoded text. Only HTTP-level refusals count as walls here: use `fetchPage` to let the
       * parser's verdict count too.
       */
      fetch: (request: FetchRequest, options: FetchOptions) =>
        Effect.map(
          fetchPage(request, options, Effect.succeed, () => false),
          ({ response }) => response,
        ),
      /**
       * Fetches and parses a page with `read`. Under `fetch: auto`, a page `isWall` says is a
       * block page (`isWallPage`: the parser's `Blocked`) sends the source to the browser.
       */
      fetchPage,
      /** What an `auto` source fetches with now; none for other sources or before its first fetch. */
      via,
    } as const
  }),
}) {}

class TooLargeSignal extends Error {}
