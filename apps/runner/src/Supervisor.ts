/**
 * Starts one Bun Worker per component and keeps it running: a worker that closes or errors
 * without being asked is restarted with exponential backoff (1 s doubling to 60 s, reset after
 * 5 minutes healthy) while the others keep running. Shutdown asks every worker to stop and waits
 * up to a deadline, then terminates the late ones.
 */
import { Clock, Deferred, Duration, Effect, Either, Fiber, Runtime, type Scope } from "effect"
import { decodeToRunner, encodeToWorker, type MetricSample, Shutdown } from "./WorkerProtocol.ts"

export interface ComponentSpec {
  readonly name: string
  /** The worker entry file. */
  readonly entry: URL
}

export type ComponentStatus = "starting" | "ready" | "backoff" | "stopping" | "stopped"

export interface ComponentSnapshot {
  readonly name: string
  readonly status: ComponentStatus
  readonly restarts: number
  readonly lastHeartbeatAt: number | undefined
  readonly metrics: ReadonlyArray<MetricSample>
  readonly heapUsed: number | undefined
  readonly lastError: string | undefined
  /** What the component's own probes say is wrong (a stalled pool or bot), if anything. */
  readonly unready: string | undefined
}

/**
 * Why a component is not ready now, or undefined when it is: not started (or restarting), a
 * heartbeat older than `staleAfterMs` (its event loop is stuck), or its own probes' reason.
 * `/readyz` and the supervisor's restart of a component that stays unready both ask this.
 */
export const unreadyReason = (
  c: ComponentSnapshot,
  now: number,
  staleAfterMs: number,
): string | undefined => {
  if (c.status !== "ready") return c.status
  if (c.lastHeartbeatAt === undefined) return "no heartbeat yet"
  const age = now - c.lastHeartbeatAt
  if (age > staleAfterMs) return `no heartbeat for ${Math.round(age / 1000)} s`
  return c.unready
}

export interface BackoffPolicy {
  readonly initial: Duration.Duration
  readonly max: Duration.Duration
  /** A worker that ran this long after being ready restarts with the initial delay again. */
  readonly resetAfter: Duration.Duration
}

export const defaultBackoff: BackoffPolicy = {
  initial: Duration.seconds(1),
  max: Duration.seconds(60),
  resetAfter: Duration.minutes(5),
}

export interface SupervisorOptions {
  readonly components: ReadonlyArray<ComponentSpec>
  /** The environment each worker starts with (the resolved DATABASE_URL included). */
  readonly env: Record<string, string>
  readonly backoff?: BackoffPolicy
  /** A heartbeat older than this makes a component unready (default 10 s). */
  readonly staleAfter?: Duration.DurationInput
  /** A ready component that stays unready this long is restarted (default 60 s). */
  readonly unreadyRestartAfter?: Duration.DurationInput
  /**
   * How long a component being restarted gets to stop gracefully (its updates answered or
   * apologised for, its claims returned) before its worker is terminated (default 20 s).
   */
  readonly stopDeadline?: Duration.DurationInput
}

interface Running {
  readonly worker: Worker
  readonly closed: Deferred.Deferred<{ readonly code: number; readonly reason: string }>
  /** Stops the worker as a crash with `reason` (a graceful stop first, then terminate). */
  readonly restart: (reason: string) => Effect.Effect<void>
}

interface State {
  status: ComponentStatus
  restarts: number
  lastHeartbeatAt: number | undefined
  readyAt: number | undefined
  metrics: ReadonlyArray<MetricSample>
  heapUsed: number | undefined
  lastError: string | undefined
  unready: string | undefined
  running: Running | undefined
}

export interface ShutdownResult {
  /** Components whose worker missed the deadline and was terminated. */
  readonly timedOut: ReadonlyArray<string>
}

export interface Supervisor {
  readonly snapshot: () => ReadonlyArray<ComponentSnapshot>
  readonly shutdown: (deadline: Duration.DurationInput) => Effect.Effect<ShutdownResult>
}

/** How often the supervisor looks for a component stuck unready. */
const WATCH_INTERVAL = Duration.seconds(1)

const snapshotOf = (name: string, s: State): ComponentSnapshot => ({
  name,
  status: s.status,
  restarts: s.restarts,
  lastHeartbeatAt: s.lastHeartbeatAt,
  metrics: s.metrics,
  heapUsed: s.heapUsed,
  lastError: s.lastError,
  unready: s.unready,
})

export const make = (options: SupervisorOptions): Effect.Effect<Supervisor, never, Scope.Scope> =>
  Effect.gen(function* () {
    const backoff = options.backoff ?? defaultBackoff
    // Worker events arrive as callbacks: they log through the runner's runtime (its logger).
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)
    const states = new Map<string, State>()
    let stopping = false

    const startWorker = (spec: ComponentSpec, state: State) =>
      Effect.gen(function* () {
        const closed = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
        let fatal: string | undefined
        const worker = new Worker(spec.entry.href, { env: options.env, name: spec.name })
        worker.addEventListener("message", (event: MessageEvent) => {
          const decoded = decodeToRunner(event.data)
          if (Either.isLeft(decoded)) {
            log(Effect.logWarning(`unreadable message from ${spec.name} worker`))
            return
          }
          const message = decoded.right
          const at = Date.now()
          switch (message._tag) {
            case "Ready":
              state.status = "ready"
              state.readyAt = at
              state.lastHeartbeatAt = at
              state.lastError = undefined
              log(Effect.logInfo(`component ${spec.name} is ready`))
              break
            case "Heartbeat":
              state.lastHeartbeatAt = at
              state.metrics = message.metrics
              state.heapUsed = message.heapUsed
              state.unready = message.unready
              break
            case "Fatal":
              fatal = message.message
              state.lastError = message.message
              break
            case "Stopped":
              state.status = "stopped"
              break
          }
        })
        worker.addEventListener("error", (event: ErrorEvent) => {
          fatal ??= event.message || "uncaught error"
          state.lastError = fatal
          // Make sure an errored worker ends, so that it is restarted.
          worker.terminate()
        })
        worker.addEventListener("close", (event: Event) => {
          const code = (event as CloseEvent).code ?? 0
          Deferred.unsafeDone(
            closed,
            Effect.succeed({ code, reason: fatal ?? `worker exited with code ${code}` }),
          )
        })
        const restart = (reason: string) =>
          Effect.gen(function* () {
            fatal = reason
            state.lastError = reason
            worker.postMessage(encodeToWorker(new Shutdown()))
            yield* Deferred.await(closed).pipe(
              Effect.timeout(options.stopDeadline ?? "20 seconds"),
              Effect.catchTag("TimeoutException", () =>
                Effect.logError(
                  `component ${spec.name} did not stop within ${Duration.format(Duration.decode(options.stopDeadline ?? "20 seconds"))} for its restart; terminating its worker`,
                ).pipe(Effect.zipRight(Effect.sync(() => worker.terminate()))),
              ),
            )
          })
        return { worker, closed, restart } satisfies Running
      })

    const staleAfterMs = Duration.toMillis(options.staleAfter ?? "10 seconds")
    const restartAfterMs = Duration.toMillis(options.unreadyRestartAfter ?? "60 seconds")

    /**
     * Restarts a component that was ready and has been unready (stale heartbeat, or its own
     * probes) for `unreadyRestartAfter`: a stalled pool or bot does not heal by waiting.
     */
    const restartWhenStuck = (spec: ComponentSpec, state: State, running: Running) =>
      Effect.gen(function* () {
        let since: number | undefined
        for (;;) {
          yield* Effect.sleep(WATCH_INTERVAL)
          if (stopping || state.status !== "ready") {
            since = undefined
            continue
          }
          const now = Date.now()
          const reason = unreadyReason(snapshotOf(spec.name, state), now, staleAfterMs)
          if (reason === undefined) {
            since = undefined
            continue
          }
          since ??= now
          if (now - since >= restartAfterMs) {
            const why = `not ready for ${Math.round((now - since) / 1000)} s (${reason})`
            yield* Effect.logError(`component ${spec.name} is ${why}; restarting it`)
            yield* running.restart(why)
            return
          }
        }
      })

    const supervise = (spec: ComponentSpec, state: State) =>
      Effect.gen(function* () {
        let delay = backoff.initial
        while (!stopping) {
          state.status = "starting"
          state.readyAt = undefined
          state.unready = undefined
          const running = yield* startWorker(spec, state)
          state.running = running
          const watcher = yield* Effect.fork(restartWhenStuck(spec, state, running))
          const ended = yield* Deferred.await(running.closed)
          yield* Fiber.interrupt(watcher)
          state.running = undefined
          if (stopping) break
          const now = yield* Clock.currentTimeMillis
          if (
            state.readyAt !== undefined &&
            now - state.readyAt >= Duration.toMillis(backoff.resetAfter)
          ) {
            delay = backoff.initial
          }
          state.status = "backoff"
          state.restarts += 1
          state.lastError = ended.reason
          yield* Effect.logError(
            `component ${spec.name} stopped unexpectedly (${ended.reason}); restarting in ${Duration.format(delay)} (restart ${state.restarts})`,
          )
          yield* Effect.sleep(delay)
          delay = Duration.min(Duration.times(delay, 2), backoff.max)
        }
      }).pipe(Effect.annotateLogs("component", spec.name))

    // If the runner's scope closes without a graceful shutdown, no worker may outlive it.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        stopping = true
        for (const state of states.values()) state.running?.worker.terminate()
      }),
    )

    const fibers: Array<Fiber.RuntimeFiber<void>> = []
    for (const spec of options.components) {
      const state: State = {
        status: "starting",
        restarts: 0,
        lastHeartbeatAt: undefined,
        readyAt: undefined,
        metrics: [],
        heapUsed: undefined,
        lastError: undefined,
        unready: undefined,
        running: undefined,
      }
      states.set(spec.name, state)
      fibers.push(yield* Effect.forkScoped(supervise(spec, state)))
    }

    const shutdown = (deadline: Duration.DurationInput) =>
      Effect.gen(function* () {
        stopping = true
        const live = [...states.entries()].flatMap(([name, state]) => {
          const running = state.running
          if (running === undefined) {
            state.status = "stopped"
            return []
          }
          state.status = "stopping"
          running.worker.postMessage(encodeToWorker(new Shutdown()))
          return [{ name, state, running }]
        })
        const timedOut: string[] = []
        yield* Effect.forEach(
          live,
          ({ name, state, running }) =>
            Deferred.await(running.closed).pipe(
              Effect.timeout(deadline),
              Effect.catchTag("TimeoutException", () =>
                Effect.gen(function* () {
                  timedOut.push(name)
                  yield* Effect.logError(
                    `component ${name} did not stop within ${Duration.format(Duration.decode(deadline))}; terminating its worker`,
                  )
                  running.worker.terminate()
                  yield* Deferred.await(running.closed).pipe(
                    Effect.timeout("2 seconds"),
                    Effect.ignore,
                  )
                }),
              ),
              Effect.tap(() => Effect.logInfo(`component ${name} stopped`)),
              Effect.ensuring(Effect.sync(() => (state.status = "stopped"))),
            ),
          { concurrency: "unbounded", discard: true },
        )
        yield* Fiber.interruptAll(fibers)
        return { timedOut }
      })

    const snapshot = () => [...states.entries()].map(([name, s]) => snapshotOf(name, s))

    return { snapshot, shutdown }
  })
