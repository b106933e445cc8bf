import type { Server } from "bun"

/** A request the fixture site received. */
export interface RecordedRequest {
  readonly method: string
  /** Path and query, e.g. `/search?p=2`. */
  readonly path: string
  readonly headers: Headers
  readonly body: string
}

export interface FixtureResponse {
  readonly status?: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

type Handler = (request: RecordedRequest) => FixtureResponse | Promise<FixtureResponse>

/**
 * For tests and benchmarks: a real HTTP server on a free local port that serves listing pages.
 * Routes are matched on the path without the query (`on`), or answer a fixed sequence
 * (`sequence`: each request takes the next response; the last one repeats). Unknown paths get 404.
 * Stop it with `stop()` (also when a test fails: call it from `afterAll`).
 */
export class FixtureSite {
  readonly requests: Array<RecordedRequest> = []
  private readonly routes = new Map<string, Handler>()
  private fallback: Handler | undefined
  private readonly server: Server<undefined>

  private constructor() {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const url = new URL(req.url)
        const recorded: RecordedRequest = {
          method: req.method,
          path: `${url.pathname}${url.search}`,
          headers: req.headers,
          body: await req.text(),
        }
        this.requests.push(recorded)
        const handler = this.routes.get(url.pathname) ?? this.fallback
        if (handler === undefined) return new Response("not found", { status: 404 })
        const response = await handler(recorded)
        return new Response(response.body, {
          status: response.status ?? 200,
          headers: { "content-type": "text/html; charset=utf-8", ...response.headers },
        })
      },
    })
  }

  static start(): FixtureSite {
    return new FixtureSite()
  }

  /** `http://127.0.0.1:<port>`, no trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  /** Answers `path` (without query) with `response`, or with what `handler` returns. */
  on(path: string, response: FixtureResponse | Handler): this {
    this.routes.set(path, typeof response === "function" ? response : () => response)
    return this
  }

  /** Answers every path that has no route (404 by default). */
  otherwise(handler: Handler): this {
    this.fallback = handler
    return this
  }

  /** Answers `path` with `responses` in order; the last one repeats. */
  sequence(path: string, responses: ReadonlyArray<FixtureResponse>): this {
    let next = 0
    return this.on(path, () => {
      const response = responses[Math.min(next++, responses.length - 1)]
      if (response === undefined) throw new Error(`no responses for ${path}`)
      return response
    })
  }

  /** Requests to `path` (without query) so far. */
  requestsTo(path: string): ReadonlyArray<RecordedRequest> {
    return this.requests.filter((r) => r.path === path || r.path.startsWith(`${path}?`))
  }

  stop(): void {
    this.server.stop(true)
  }
}
