import { randomUUID } from "node:crypto"
import {
  Clock,
  Config,
  ConfigError,
  Context,
  Data,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  type Redacted,
  Schedule,
  type Scope,
} from "effect"
import puppeteer, { type BrowserContext, type Browser as Chrome } from "puppeteer-core"
import { BrowserSessionStore } from "./BrowserSession.ts"
import { isVisitTimeout, newContext, visit } from "./BrowserVisit.ts"
import { findChromium } from "./Chromium.ts"
import { chromiumsOf, isAlive, killChromium, ownerFlag } from "./ChromiumProcess.ts"

export interface BrowserOptions {
  /** The Chromium executable (`findChromium`). */
  readonly executablePath: string
  /** Chromium is closed after this long without a page open; the next fetch starts it again. */
  readonly idleClose: Duration.Duration
  /** Pages open at once per source. */
  readonly concurrency: number
  /**
   * Marks this service's Chromium. A `Browser` of the same owner in the same process kills any
   * Chromium the owner left behind (a crashed worker cannot close its own); `parser` in the
   * component, a fresh id by default.
   */
  readonly owner?: string
}

/** One page load (or in-page request) the browser is asked for. */
export interface BrowserRequest {
  readonly source: string
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
  /** The page is taken once one of these CSS selectors matches; none: at its `load` event. */
  readonly waitFor: ReadonlyArray<string>
  /** A non-GET request runs as `fetch()` inside a page of this URL (the site's session). */
  readonly siteUrl?: string | undefined
  /** The answer is data, not a page: fetched from inside a page of `siteUrl` even for a GET. */
  readonly asData?: boolean | undefined
  /** For the whole load: navigation, rendering and reading the page. */
  readonly timeout: Duration.Duration
  readonly acceptLanguage: string
  readonly proxy: Option.Option<Redacted.Redacted<string>>
}

/** What the browser saw. `rendered`: a `waitFor` selector matched (or, without any, a 2xx/3xx). */
export interface BrowserPage {
  readonly url: string
  readonly status: number
  readonly headers: Headers
  readonly body: string
  readonly rendered: boolean
}

/** Chromium could not be started or driven (not a site's answer: those are `BrowserPage`s). */
export class BrowserError extends Data.TaggedError("BrowserError")<{
  readonly reason: "Launch" | "Page" | "Timeout"
  readonly message: string
  readonly cause?: unknown
}> {}

interface Running {
  readonly chrome: Chrome
  readonly pid: number | undefined
  readonly userAgent: string
  readonly contexts: Map<string, Promise<BrowserContext>>
}

const messageOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/**
 * Headless Chromium for the sources that need it, one per process (per parser worker): started on
 * the first page a source asks for, closed after `idleClose` without pages and when the scope
 * closes (pages first). Chromium is driven over a pipe, so it also exits when the process dies.
 * Each source has its own browser context (cookies, storage), loaded from and saved to the
 * `BrowserSessionStore` around every page, so a challenge solved once serves later runs.
 */
export class Browser extends Context.Tag("@flatwatch/parser/Browser")<
  Browser,
  {
    /** Loads `request` in a new page of the source's session; the page is closed after. */
    readonly load: (request: BrowserRequest) => Effect.Effect<BrowserPage, BrowserError>
    /** The pid of the running Chromium, if one runs (tests, benchmarks). */
    readonly pid: Effect.Effect<Option.Option<number>>
    /** Closes Chromium now, as after `idleClose`; the next load starts it again. */
    readonly close: Effect.Effect<void>
  }
>() {
  static readonly make = (
    options: BrowserOptions,
  ): Effect.Effect<Context.Tag.Service<Browser>, never, Scope.Scope | BrowserSessionStore> =>
    Effect.gen(function* () {
      const store = yield* BrowserSessionStore
      const owner = options.owner ?? randomUUID()
      const lifecycle = yield* Effect.makeSemaphore(1)
      const perSource = new Map<string, Effect.Semaphore>()
      let current: Running | undefined
      let inFlight = 0
      let lastUsed = yield* Clock.currentTimeMillis

      const launch = Effect.gen(function* () {
        for (const stale of chromiumsOf(owner)) {
          yield* Effect.logWarning(`killing Chromium ${stale} left by a crashed worker`)
          killChromium(stale)
        }
        const { chrome, userAgent } = yield* Effect.tryPromise({
          try: async () => {
            const chrome = await puppeteer.launch({
              executablePath: options.executablePath,
              headless: true,
              // A pipe, not a websocket: Chromium exits when the pipe closes, so also when
              // this process dies without closing it.
              pipe: true,
              // Only the runner handles signals; the scope closes the browser.
              handleSIGINT: false,
              handleSIGTERM: false,
              handleSIGHUP: false,
              args: [
                ownerFlag(owner),
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                // Chromium refuses to run as root with its sandbox.
                ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
              ],
            })
            try {
              // The default says "HeadlessChrome", which sites answer with a challenge.
              const userAgent = (await chrome.userAgent()).replace("HeadlessChrome", "Chrome")
              return { chrome, userAgent }
            } catch (error) {
              await chrome.close().catch(() => undefined)
              throw error
            }
          },
          catch: (cause) =>
            new BrowserError({
              reason: "Launch",
              message: `Chromium (${options.executablePath}) did not start: ${messageOf(cause)}`,
              cause,
            }),
        })
        const running: Running = {
          chrome,
          pid: chrome.process()?.pid,
          userAgent,
          contexts: new Map(),
        }
        chrome.on("disconnected", () => {
          if (current === running) current = undefined
        })
        yield* Effect.logInfo(`Chromium started (pid ${running.pid ?? "?"})`)
        return running
      })

      const running = lifecycle.withPermits(1)(
        Effect.suspend(() =>
          current?.chrome.connected
            ? Effect.succeed(current)
            : Effect.tap(launch, (r) =>
                Effect.sync(() => {
                  current = r
                }),
              ),
        ),
      )

      /** Closes Chromium: every page and context first, then the browser, killed if it hangs. */
      const shutdown = (why: string) =>
        Effect.suspend(() => {
          const closing = current
          current = undefined
          if (closing === undefined) return Effect.void
          return Effect.tryPromise(async () => {
            const pages = await closing.chrome.pages().catch(() => [])
            await Promise.allSettled(pages.map((p) => p.close()))
            await closing.chrome.close()
          }).pipe(
            Effect.timeout(Duration.seconds(5)),
            Effect.ignore,
            Effect.ensuring(
              Effect.sync(() => {
                if (closing.pid !== undefined && isAlive(closing.pid)) killChromium(closing.pid)
              }),
            ),
            Effect.zipRight(Effect.logInfo(`Chromium closed (${why})`)),
          )
        })

      yield* Effect.addFinalizer(() => lifecycle.withPermits(1)(shutdown("shutdown")))

      const idleMs = Duration.toMillis(options.idleClose)
      yield* Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (current !== undefined && inFlight === 0 && now - lastUsed >= idleMs) {
          yield* lifecycle.withPermits(1)(
            Effect.suspend(() =>
              inFlight === 0
                ? shutdown(`idle for ${Duration.format(options.idleClose)}`)
                : Effect.void,
            ),
          )
        }
      }).pipe(
        Effect.repeat(Schedule.spaced(Duration.millis(Math.min(30_000, Math.max(50, idleMs / 4))))),
        Effect.forkScoped,
      )

      return {
        load: (request) =>
          Effect.suspend(() => {
            let gate = perSource.get(request.source)
            if (gate === undefined) {
              gate = Effect.unsafeMakeSemaphore(options.concurrency)
              perSource.set(request.source, gate)
            }
            return gate.withPermits(1)(loadPage(request))
          }).pipe(Effect.withSpan("Browser.load", { attributes: { source: request.source } })),
        pid: Effect.sync(() => Option.fromNullable(current?.pid)),
        close: lifecycle.withPermits(1)(shutdown("asked to")),
      }

      function loadPage(request: BrowserRequest): Effect.Effect<BrowserPage, BrowserError> {
        return Effect.acquireUseRelease(
          Effect.gen(function* () {
            inFlight++
            const r = yield* running
            const context = yield* contextFor(r, request)
            const page = yield* Effect.tryPromise({
              try: () => context.newPage(),
              catch: (cause) =>
                new BrowserError({
                  reason: "Page",
                  message: `no new page: ${messageOf(cause)}`,
                  cause,
                }),
            })
            return { r, context, page }
          }).pipe(Effect.onError(() => Effect.sync(() => void inFlight--))),
          ({ r, context, page }) =>
            Effect.tryPromise({
              try: () => visit(context, page, r.userAgent, request),
              catch: (cause) =>
                new BrowserError({
                  reason: isVisitTimeout(cause) ? "Timeout" : "Page",
                  message: `the browser ${isVisitTimeout(cause) ? "timed out" : "failed"} on ${where(request.url)}: ${messageOf(cause)}`,
                  cause,
                }),
            }).pipe(
              Effect.tap((visited) => store.save(request.source, visited.session)),
              Effect.map(({ session: _, ...visited }): BrowserPage => visited),
            ),
          ({ page }) =>
            Effect.promise(() => page.close().catch(() => undefined)).pipe(
              Effect.zipRight(
                Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  Effect.sync(() => {
                    inFlight--
                    lastUsed = now
                  }),
                ),
              ),
            ),
        )
      }

      /** The source's context in this Chromium, created with the stored session on first use. */
      function contextFor(r: Running, request: BrowserRequest) {
        return Effect.gen(function* () {
          const existing = r.contexts.get(request.source)
          if (existing !== undefined) {
            return yield* Effect.tryPromise({
              try: () => existing,
              catch: (cause) => pageError("no browser context", cause),
            })
          }
          const session = yield* store.load(request.source)
          const created = newContext(r.chrome, request.proxy, session)
          r.contexts.set(request.source, created)
          return yield* Effect.tryPromise({
            try: () => created,
            catch: (cause) => pageError("no browser context", cause),
          }).pipe(Effect.tapError(() => Effect.sync(() => r.contexts.delete(request.source))))
        })
      }
    })

  static readonly layer = (
    options: BrowserOptions,
  ): Layer.Layer<Browser, never, BrowserSessionStore> =>
    Layer.scoped(Browser, Browser.make(options))

  /** The browser as `BrowserConfig` says (`CHROMIUM_PATH`, `BROWSER_IDLE_CLOSE`, ...). */
  static readonly layerConfig = (
    owner?: string,
  ): Layer.Layer<Browser, ConfigError.ConfigError, BrowserSessionStore> =>
    Layer.unwrapEffect(
      Effect.map(BrowserConfig, (c) =>
        Browser.layer({ ...c, ...(owner === undefined ? {} : { owner }) }),
      ),
    )
}

/**
 * `CHROMIUM_PATH` (else `chromium`, ... on PATH), `BROWSER_IDLE_CLOSE` (default 5 minutes) and
 * `BROWSER_CONCURRENCY` (pages at once per source, default 1). Fails, naming `CHROMIUM_PATH`,
 * when no Chromium can be found.
 */
export const BrowserConfig: Config.Config<Omit<BrowserOptions, "owner">> = Config.all({
  executablePath: Config.option(Config.string("CHROMIUM_PATH")).pipe(
    Config.mapOrFail((path) =>
      Either.mapLeft(findChromium(Option.getOrUndefined(path)), (message) =>
        ConfigError.InvalidData(["CHROMIUM_PATH"], message),
      ),
    ),
  ),
  idleClose: Config.duration("BROWSER_IDLE_CLOSE").pipe(Config.withDefault(Duration.minutes(5))),
  concurrency: Config.integer("BROWSER_CONCURRENCY").pipe(
    Config.validate({
      message: "must be a whole number from 1 to 16",
      validation: (n) => n >= 1 && n <= 16,
    }),
    Config.withDefault(1),
  ),
})

const where = (url: string) => {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return "an invalid URL"
  }
}

const pageError = (what: string, cause: unknown) =>
  new BrowserError({ reason: "Page", message: `${what}: ${messageOf(cause)}`, cause })
