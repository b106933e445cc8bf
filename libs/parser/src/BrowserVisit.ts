/**
 * Driving one Chromium page (puppeteer-core): a source's context with its stored session, and
 * one load in it. Promise-based on purpose: `Browser` wraps these calls in Effects, with the
 * page's release and the session's save around them.
 */
import { Duration, Option, Redacted, Schema } from "effect"
import {
  type BrowserContext,
  type Browser as Chrome,
  type CookieData,
  type HTTPResponse,
  type Page,
  TimeoutError,
} from "puppeteer-core"
import { type BrowserSessionState, StoredCookie } from "./BrowserSession.ts"

/** What `visit` needs to know about the request (a subset of `BrowserRequest`). */
export interface VisitRequest {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
  readonly waitFor: ReadonlyArray<string>
  readonly siteUrl?: string | undefined
  readonly asData?: boolean | undefined
  readonly timeout: Duration.Duration
  readonly acceptLanguage: string
  readonly proxy: Option.Option<Redacted.Redacted<string>>
}

export interface Visited {
  readonly url: string
  readonly status: number
  readonly headers: Headers
  readonly body: string
  readonly rendered: boolean
  /** The source's session after the page (to be saved). */
  readonly session: BrowserSessionState
}

/** In functions that run inside the page (this project's types have no DOM). */
declare const location: { readonly origin: string }

type Storage = Record<string, Record<string, string>>

/** Each context's local storage per origin, as last seen (seeded from the stored session). */
const storageOf = new WeakMap<BrowserContext, Storage>()

/** Resources nobody needs to read a listing page: less memory, fewer requests. */
const SKIPPED_RESOURCES = new Set(["image", "media", "font"])

const decodeCookie = Schema.decodeUnknownOption(StoredCookie)

/** A new context for one source: through its proxy, with its stored cookies and storage. */
export const newContext = async (
  chrome: Chrome,
  proxy: Option.Option<Redacted.Redacted<string>>,
  session: BrowserSessionState,
): Promise<BrowserContext> => {
  const proxyUrl = Option.map(proxy, (p) => new URL(Redacted.value(p)))
  const context = await chrome.createBrowserContext(
    Option.match(proxyUrl, {
      onNone: () => ({}),
      onSome: (url) => ({ proxyServer: `${url.protocol}//${url.host}` }),
    }),
  )
  if (session.cookies.length > 0) {
    await context.setCookie(...session.cookies.map((c): CookieData => ({ ...c })))
  }
  storageOf.set(context, structuredClone({ ...session.localStorage }) as Storage)
  return context
}

/** `page.content()`, again if a navigation (a challenge reloading the page) got in the way. */
const contentOf = async (page: Page): Promise<string> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await page.content()
    } catch (error) {
      if (attempt >= 5) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

const isTimeout = (error: unknown) => error instanceof TimeoutError

/**
 * Loads `request` in `page`: a GET navigates and waits for one of `waitFor` (or the `load`
 * event); any other method runs as `fetch()` inside a page of `siteUrl`, so it carries the
 * site's cookies. Throws puppeteer's `TimeoutError` when navigation itself takes too long; a
 * page that loads but never shows `waitFor` comes back with `rendered: false`.
 */
export const visit = async (
  context: BrowserContext,
  page: Page,
  userAgent: string,
  request: VisitRequest,
): Promise<Visited> => {
  const deadline = Date.now() + Duration.toMillis(request.timeout)
  const remaining = () => Math.max(1, deadline - Date.now())
  const storage = storageOf.get(context) ?? {}
  await page.setUserAgent({ userAgent })
  await page.setExtraHTTPHeaders({ "accept-language": request.acceptLanguage })
  const proxy = Option.map(request.proxy, (p) => new URL(Redacted.value(p)))
  if (Option.isSome(proxy) && proxy.value.username !== "") {
    await page.authenticate({
      username: decodeURIComponent(proxy.value.username),
      password: decodeURIComponent(proxy.value.password),
    })
  }
  await page.evaluateOnNewDocument((stored: Storage) => {
    try {
      const items = stored[location.origin]
      if (items === undefined) return
      for (const [key, value] of Object.entries(items)) {
        if (localStorage.getItem(key) === null) localStorage.setItem(key, value)
      }
    } catch {
      // An opaque origin has no storage.
    }
  }, storage)
  await page.setRequestInterception(true)
  page.on("request", (req) => {
    if (req.isInterceptResolutionHandled()) return
    if (SKIPPED_RESOURCES.has(req.resourceType())) void req.abort().catch(() => undefined)
    else void req.continue().catch(() => undefined)
  })
  let main: HTTPResponse | undefined
  page.on("response", (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
      main = response
    }
  })

  let visited: Omit<Visited, "session">
  if (request.method === "GET" && request.asData !== true) {
    const first = await page.goto(request.url, {
      waitUntil: request.waitFor.length === 0 ? "load" : "domcontentloaded",
      timeout: remaining(),
    })
    let rendered = true
    if (request.waitFor.length > 0) {
      rendered = await page
        .waitForSelector(request.waitFor.join(", "), { timeout: remaining() })
        .then(() => true)
        .catch((error: unknown) => {
          if (isTimeout(error)) return false
          throw error
        })
    }
    const response = main ?? first ?? undefined
    const status = response?.status() ?? 0
    visited = {
      url: page.url(),
      status,
      headers: new Headers(response?.headers() ?? {}),
      body: await contentOf(page),
      rendered: request.waitFor.length === 0 ? status > 0 && status < 400 : rendered,
    }
  } else {
    const site = request.siteUrl ?? `${new URL(request.url).origin}/`
    await page.goto(site, { waitUntil: "domcontentloaded", timeout: remaining() })
    const answer = await page.evaluate(
      async (req) => {
        const res = await fetch(req.url, {
          method: req.method,
          headers: req.headers,
          ...(req.body === null || req.method === "GET" ? {} : { body: req.body }),
          credentials: "include",
        })
        return {
          url: res.url,
          status: res.status,
          headers: [...res.headers.entries()],
          body: await res.text(),
        }
      },
      {
        url: request.url,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
      },
    )
    visited = {
      url: answer.url || request.url,
      status: answer.status,
      headers: new Headers(answer.headers),
      body: answer.body,
      rendered: answer.status >= 200 && answer.status < 300,
    }
  }

  const seen = await page
    .evaluate(() => {
      try {
        return [location.origin, Object.fromEntries(Object.entries(localStorage))] as const
      } catch {
        return null
      }
    })
    .catch(() => null)
  if (seen !== null && seen[0] !== "null") storage[seen[0]] = { ...seen[1] }
  storageOf.set(context, storage)
  const cookies = (await context.cookies()).flatMap((c) =>
    Option.toArray(
      decodeCookie({
        name: c.name,
        value: c.value,
        domain: c.domain,
        path: c.path,
        expires: c.expires,
        httpOnly: c.httpOnly,
        secure: c.secure,
        ...(c.sameSite === undefined ? {} : { sameSite: c.sameSite }),
      }),
    ),
  )
  return { ...visited, session: { cookies, localStorage: storage } }
}

/** Whether a failure of `visit` was a navigation deadline. */
export const isVisitTimeout = isTimeout
