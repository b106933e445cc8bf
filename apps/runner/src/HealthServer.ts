/**
 * The runner's HTTP endpoints for operators: `GET /healthz` (the runner is alive), `GET /readyz`
 * (every requested component is ready with a fresh heartbeat; 503 otherwise, with details) and
 * `GET /metrics` (Prometheus text).
 */
import { Data, Duration, Effect, type Scope } from "effect"
import * as Prometheus from "./Prometheus.ts"
import { type ComponentSnapshot, unreadyReason } from "./Supervisor.ts"

export class HttpServerError extends Data.TaggedError("HttpServerError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface HealthServerOptions {
  readonly hostname: string
  readonly port: number
  /** The components' current state (the supervisor's, or the plan before it starts). */
  readonly snapshot: () => ReadonlyArray<ComponentSnapshot>
  /** A heartbeat older than this makes a component not ready. */
  readonly staleAfter: Duration.DurationInput
}

export const serve = (
  options: HealthServerOptions,
): Effect.Effect<{ readonly port: number }, HttpServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const staleAfterMs = Duration.toMillis(options.staleAfter)
    const startedAt = Date.now()
    const readiness = () => {
      const now = Date.now()
      const components = options.snapshot().map((c) => {
        const age = c.lastHeartbeatAt === undefined ? undefined : now - c.lastHeartbeatAt
        const reason = unreadyReason(c, now, staleAfterMs)
        return {
          name: c.name,
          ready: reason === undefined,
          ...(reason === undefined ? {} : { reason }),
          status: c.status,
          heartbeatAgeSeconds: age === undefined ? null : age / 1000,
          restarts: c.restarts,
          lastError: c.lastError ?? null,
        }
      })
      return { ready: components.every((c) => c.ready), components }
    }

    const handler = (req: Request): Response => {
      const { pathname } = new URL(req.url)
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response("method not allowed\n", {
          status: 405,
          headers: { allow: "GET, HEAD" },
        })
      }
      switch (pathname) {
        case "/healthz":
          return Response.json({ status: "ok" })
        case "/readyz": {
          const r = readiness()
          return Response.json(r, { status: r.ready ? 200 : 503 })
        }
        case "/metrics":
          return new Response(
            Prometheus.render(options.snapshot(), {
              now: Date.now(),
              residentMemoryBytes: process.memoryUsage.rss(),
              uptimeSeconds: (Date.now() - startedAt) / 1000,
              staleAfterMs,
            }),
            { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } },
          )
        default:
          return new Response("not found\n", { status: 404 })
      }
    }

    const server = yield* Effect.acquireRelease(
      Effect.try({
        try: () => Bun.serve({ hostname: options.hostname, port: options.port, fetch: handler }),
        catch: (cause) => {
          const code = (cause as { code?: string }).code
          return new HttpServerError({
            message:
              code === "EADDRINUSE"
                ? `HTTP_PORT ${options.port} is already in use on ${options.hostname}`
                : `cannot listen on ${options.hostname}:${options.port}: ${String((cause as Error).message ?? cause)}`,
            cause,
          })
        },
      }),
      (server) => Effect.promise(() => server.stop(true)),
    )
    yield* Effect.logInfo(
      `health and metrics on http://${options.hostname}:${server.port} (/healthz, /readyz, /metrics)`,
    )
    return { port: server.port ?? options.port }
  })
