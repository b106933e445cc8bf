import { Clock, type Context, Duration, Effect, Metric, Option } from "effect"
import type { Browser, BrowserPage } from "./Browser.ts"
import { describeUrl, FetchError } from "./FetchError.ts"
import type { FetchedPage, FetchOptions, FetchRequest, FetchResponse } from "./Fetcher.ts"
import type { FetchVia } from "./FetchMode.ts"
import { ParserMetrics } from "./ParserMetrics.ts"

/** A source stays on the browser this long before `auto` tries a plain request again. */
export const PLAIN_RECHECK = Duration.hours(1)

/**
 * The browser side of the `Fetcher`: pages loaded in headless Chromium (`fetch: browser`) and
 * the `auto` route (plain HTTP until a wall, then the browser, a plain request again at most
 * hourly). Made once per `Fetcher`; the route of each `auto` source lives in it.
 */
export const makeFetchRoutes = (deps: {
  readonly browser: Option.Option<Context.Tag.Service<Browser>>
  readonly plain: (
    request: FetchRequest,
    options: FetchOptions,
  ) => Effect.Effect<FetchResponse, FetchError>
  readonly waitForTurn: (site: string, politeness: Duration.Duration) => Effect.Effect<void>
}) => {
  const { browser, waitForTurn } = deps
  /** What each `auto` source fetches with, and when it last tried a plain request. */
  const routes = new Map<string, { via: FetchVia; plainTriedAt: number }>()

  const loadInBrowser = (request: FetchRequest, options: FetchOptions) =>
    Effect.gen(function* () {
      const url = describeUrl(request.url)
      if (Option.isNone(browser)) {
        return yield* new FetchError({
          reason: "Network",
          url,
          message: `source ${options.source} fetches with a browser, but none runs in this process`,
        })
      }
      const site = URL.canParse(request.url) ? new URL(request.url).origin : request.url
      yield* waitForTurn(site, options.politeness)
      const page = yield* browser.value
        .load({
          source: options.source,
          url: request.url,
          method: request.method ?? "GET",
          headers: request.headers ?? {},
          body: request.body,
          waitFor: options.render?.waitFor ?? [],
          asData: options.render?.asData === true,
          siteUrl: options.siteUrl,
          timeout: options.timeout,
          acceptLanguage: options.acceptLanguage,
          proxy: options.proxy,
        })
        .pipe(
          Effect.mapError(
            (error) =>
              new FetchError({
                reason: error.reason === "Timeout" ? "Timeout" : "Network",
                url,
                message: error.message,
                cause: error,
              }),
          ),
        )
      if (Buffer.byteLength(page.body) > options.maxBytes) {
        return yield* new FetchError({
          reason: "TooLarge",
          url,
          status: page.status,
          message: `page larger than ${options.maxBytes} bytes`,
        })
      }
      return page
    }).pipe(
      Effect.tapBoth({
        onFailure: (e) =>
          Metric.increment(ParserMetrics.browserPages(options.source, e.reason.toLowerCase())),
        onSuccess: (p) =>
          Metric.increment(
            ParserMetrics.browserPages(options.source, p.rendered ? "ok" : "unrendered"),
          ),
      }),
    )

  /** A browser page, judged: rendered, a wall the parser recognises, or why it is neither. */
  const throughBrowser = <A>(
    request: FetchRequest,
    options: FetchOptions,
    read: (response: FetchResponse) => Effect.Effect<A>,
    isWall: (page: A) => boolean,
  ) =>
    Effect.gen(function* () {
      const loaded: BrowserPage = yield* loadInBrowser(request, options)
      const response: FetchResponse = {
        url: loaded.url,
        status: loaded.status,
        headers: loaded.headers,
        body: loaded.body,
      }
      const page = yield* read(response)
      if (loaded.rendered || isWall(page)) return { response, page }
      const url = describeUrl(request.url)
      const status = loaded.status
      if (status === 401 || status === 403 || status === 429) {
        return yield* new FetchError({
          reason: "Blocked",
          url,
          status,
          message: `HTTP ${status} in the browser: the site refused the page`,
        })
      }
      const waitFor = options.render?.waitFor ?? []
      if (waitFor.length > 0 && status < 400) {
        return yield* new FetchError({
          reason: "Timeout",
          url,
          status,
          message: `the page did not show ${waitFor.join(" or ")} within ${Duration.format(options.timeout)} in the browser`,
        })
      }
      return yield* new FetchError({ reason: "Status", url, status, message: `HTTP ${status}` })
    })

  const plainPage = <A>(
    request: FetchRequest,
    options: FetchOptions,
    read: (response: FetchResponse) => Effect.Effect<A>,
  ) =>
    Effect.flatMap(deps.plain(request, options), (response) =>
      Effect.map(read(response), (page) => ({ response, page })),
    )

  const switchTo = (options: FetchOptions, via: FetchVia, why: string) =>
    Effect.gen(function* () {
      const message = `fetch: auto: ${options.source} now fetches with ${via === "browser" ? "the browser" : "plain HTTP"} (${why})`
      yield* via === "browser" ? Effect.logWarning(message) : Effect.logInfo(message)
      yield* Metric.increment(ParserMetrics.fetchSwitches(options.source, via))
      yield* Metric.set(ParserMetrics.fetchVia(options.source), via === "browser" ? 1 : 0)
    })

  /** `fetch: auto`: plain first; behind a wall, the browser, rechecking plain hourly. */
  const auto = <A>(
    request: FetchRequest,
    options: FetchOptions,
    read: (response: FetchResponse) => Effect.Effect<A>,
    isWall: (page: A) => boolean,
  ): Effect.Effect<FetchedPage<A>, FetchError> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const route = routes.get(options.source) ?? { via: "http", plainTriedAt: 0 }
      const onBrowser = route.via === "browser"
      if (onBrowser && now - route.plainTriedAt < Duration.toMillis(PLAIN_RECHECK)) {
        return yield* throughBrowser(request, options, read, isWall)
      }
      const plain = yield* Effect.either(plainPage(request, options, read))
      const wall =
        plain._tag === "Left"
          ? plain.left.reason === "Blocked" || onBrowser
          : isWall(plain.right.page)
      if (!wall) {
        routes.set(options.source, { via: "http", plainTriedAt: now })
        if (onBrowser) yield* switchTo(options, "http", "a plain request got through again")
        return yield* plain
      }
      routes.set(options.source, { via: "browser", plainTriedAt: now })
      if (!onBrowser) {
        yield* switchTo(
          options,
          "browser",
          plain._tag === "Left" ? plain.left.message : "a plain request got a block page",
        )
      }
      return yield* throughBrowser(request, options, read, isWall)
    })

  return {
    throughBrowser,
    plainPage,
    auto,
    /** What an `auto` source fetches with now; none for other sources or before its first fetch. */
    via: (source: string): Option.Option<FetchVia> =>
      Option.map(Option.fromNullable(routes.get(source)), (r) => r.via),
  }
}
