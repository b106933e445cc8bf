import { afterAll, describe, expect, test } from "bun:test"
import { Duration, Effect, Either, Fiber, Option, Redacted, TestClock, TestContext } from "effect"
import { defaultFetchOptions, Fetcher, type FetchOptions, parseRetryAfter } from "./Fetcher.ts"
import { FixtureSite } from "./FixtureSite.ts"

const site = FixtureSite.start()
afterAll(() => site.stop())

const options: FetchOptions = {
  ...defaultFetchOptions("test"),
  timeout: Duration.millis(500),
  retries: 2,
  backoff: Duration.millis(5),
  politeness: Duration.zero,
  acceptLanguage: "ru-RU,ru;q=0.9",
}

const get = (path: string, opts: Partial<FetchOptions> = {}) =>
  Effect.runPromise(
    Effect.either(
      Effect.flatMap(Fetcher, (f) =>
        f.fetch({ url: `${site.url}${path}` }, { ...options, ...opts }),
      ),
    ).pipe(Effect.provide(Fetcher.Default)),
  )

describe("Fetcher", () => {
  test("a page: body, status, browser-like headers", async () => {
    site.on("/ok", { body: "<p>Привет</p>" })
    const result = await get("/ok")
    expect(Either.getOrThrow(result)).toMatchObject({ status: 200, body: "<p>Привет</p>" })
    const request = site.requestsTo("/ok")[0]
    expect(request?.headers.get("user-agent")).toContain("Mozilla/5.0")
    expect(request?.headers.get("accept-language")).toBe("ru-RU,ru;q=0.9")
  })

  test("a 500 then success: retried", async () => {
    site.sequence("/flaky", [
      { status: 500, body: "oops" },
      { status: 502, body: "oops" },
      { body: "fine" },
    ])
    const result = await get("/flaky")
    expect(Either.getOrThrow(result).body).toBe("fine")
    expect(site.requestsTo("/flaky")).toHaveLength(3)
  })

  test("5xx past the retries: a Status error, after 1 + retries attempts", async () => {
    site.on("/down", { status: 503, body: "down" })
    const result = await get("/down")
    expect(Either.isLeft(result) && result.left).toMatchObject({ reason: "Status", status: 503 })
    expect(site.requestsTo("/down")).toHaveLength(3)
  })

  test("401 and 403 are blocked at once, never retried", async () => {
    site.on("/forbidden", { status: 403, body: "no" })
    site.on("/auth", { status: 401, body: "no" })
    for (const path of ["/forbidden", "/auth"]) {
      const result = await get(path)
      expect(Either.isLeft(result) && result.left.reason).toBe("Blocked")
      expect(site.requestsTo(path)).toHaveLength(1)
    }
  })

  test("429 with Retry-After: waits exactly that long (test clock), then succeeds", async () => {
    site.sequence("/limited", [
      { status: 429, body: "slow down", headers: { "retry-after": "30" } },
      { body: "ok now" },
    ])
    const program = Effect.gen(function* () {
      const fetcher = yield* Fetcher
      const fiber = yield* Effect.fork(fetcher.fetch({ url: `${site.url}/limited` }, options))
      // Wait (on real time) until the fetcher is asleep on the test clock.
      while ((yield* TestClock.sleeps()).length === 0) yield* Effect.promise(() => Bun.sleep(5))
      yield* TestClock.adjust("29 seconds")
      expect(site.requestsTo("/limited")).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      return yield* Fiber.join(fiber)
    })
    const result = await Effect.runPromise(
      program.pipe(Effect.provide(Fetcher.Default), Effect.provide(TestContext.TestContext)),
    )
    expect(result.body).toBe("ok now")
    expect(site.requestsTo("/limited")).toHaveLength(2)
  })

  test("429 asking for longer than allowed: blocked without waiting", async () => {
    site.on("/banned", { status: 429, body: "go away", headers: { "retry-after": "3600" } })
    const result = await get("/banned")
    expect(Either.isLeft(result) && result.left).toMatchObject({ reason: "Blocked", status: 429 })
    expect(site.requestsTo("/banned")).toHaveLength(1)
  })

  test("other 4xx: a Status error, not retried", async () => {
    const result = await get("/missing")
    expect(Either.isLeft(result) && result.left).toMatchObject({ reason: "Status", status: 404 })
    expect(site.requestsTo("/missing")).toHaveLength(1)
  })

  test("a response over the size cap fails with TooLarge", async () => {
    site.on("/huge", { body: "x".repeat(200_000) })
    const result = await get("/huge", { maxBytes: 100_000 })
    expect(Either.isLeft(result) && result.left.reason).toBe("TooLarge")
  })

  test("a server that never answers: Timeout, retried, then given up", async () => {
    site.on("/slow", () => new Promise(() => {}))
    const result = await get("/slow", { timeout: Duration.millis(100), retries: 1 })
    expect(Either.isLeft(result) && result.left.reason).toBe("Timeout")
    expect(site.requestsTo("/slow")).toHaveLength(2)
  })

  test("a closed port: Network", async () => {
    const closed = FixtureSite.start()
    const url = closed.url
    closed.stop()
    const result = await Effect.runPromise(
      Effect.either(
        Effect.flatMap(Fetcher, (f) => f.fetch({ url: `${url}/x` }, { ...options, retries: 0 })),
      ).pipe(Effect.provide(Fetcher.Default)),
    )
    expect(Either.isLeft(result) && result.left.reason).toBe("Network")
  })

  test("politeness: requests to one site start at least the delay apart", async () => {
    site.on("/polite", { body: "ok" })
    const before = site.requestsTo("/polite").length
    const started = Date.now()
    await Effect.runPromise(
      Effect.flatMap(Fetcher, (f) =>
        Effect.forEach(
          [1, 2, 3],
          () =>
            f.fetch(
              { url: `${site.url}/polite` },
              { ...options, politeness: Duration.millis(150) },
            ),
          {
            concurrency: 3,
          },
        ),
      ).pipe(Effect.provide(Fetcher.Default)),
    )
    expect(site.requestsTo("/polite").length - before).toBe(3)
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
  })

  test("a POST carries its body and headers", async () => {
    site.on("/api", (request) => ({
      body: `got ${request.method} ${request.body} ${request.headers.get("x-key")}`,
    }))
    const result = await Effect.runPromise(
      Effect.flatMap(Fetcher, (f) =>
        f.fetch(
          { url: `${site.url}/api`, method: "POST", body: '{"a":1}', headers: { "x-key": "k" } },
          options,
        ),
      ).pipe(Effect.provide(Fetcher.Default)),
    )
    expect(result.body).toBe('got POST {"a":1} k')
  })

  test("through an HTTP proxy when one is configured", async () => {
    const proxied: Array<string> = []
    const proxy = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        proxied.push(req.url)
        return new Response("via proxy")
      },
    })
    try {
      const result = await Effect.runPromise(
        Effect.flatMap(Fetcher, (f) =>
          f.fetch(
            { url: "http://flats.example.test/search" },
            { ...options, proxy: Option.some(Redacted.make(`http://127.0.0.1:${proxy.port}`)) },
          ),
        ).pipe(Effect.provide(Fetcher.Default)),
      )
      expect(result.body).toBe("via proxy")
      expect(proxied).toEqual(["http://flats.example.test/search"])
    } finally {
      proxy.stop(true)
    }
  })
})

test("parseRetryAfter: seconds or an HTTP date", () => {
  const now = Date.parse("2025-01-01T00:00:00Z")
  expect(parseRetryAfter("120", now)).toEqual(Option.some(120_000))
  expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now)).toEqual(Option.some(30_000))
  expect(parseRetryAfter("soon", now)).toEqual(Option.none())
  expect(parseRetryAfter(null, now)).toEqual(Option.none())
})
