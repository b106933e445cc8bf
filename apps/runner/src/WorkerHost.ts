/**
 * The inside of a component worker: builds the worker's own Effect runtime and `Database` pool,
 * runs the component's entry Layer, posts heartbeats with the worker's metrics, and stops
 * gracefully (interrupting the component so its finalizers run) when the runner says so.
 */
import { ComponentFatal } from "@flatwatch/db/ComponentFatal"
import { ComponentHealth } from "@flatwatch/db/ComponentHealth"
import { Database } from "@flatwatch/db/Database"
import { watchPool } from "@flatwatch/db/PoolProbe"
import {
  Cause,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Metric,
  MetricState,
  Option,
  Schedule,
} from "effect"
import { formatConfigError, isConfigError } from "./ConfigErrors.ts"
import { LoggingConfig, loggerLayer } from "./Logging.ts"
import { clockLayer } from "./OffsetClock.ts"
import {
  decodeToWorker,
  encodeToRunner,
  Fatal,
  Heartbeat,
  type MetricSample,
  Ready,
  Stopped,
  type ToRunner,
} from "./WorkerProtocol.ts"

export const HEARTBEAT_INTERVAL = Duration.seconds(2)

/** A pool with no successful query for this long makes its component unready. */
export const POOL_STALL_DEADLINE = Duration.seconds(20)

declare const self: Worker

const post = (message: ToRunner) => self.postMessage(encodeToRunner(message))

/** Flattens the worker's Effect metrics for the heartbeat. */
export const sampleMetrics: Effect.Effect<MetricSample[]> = Effect.map(Metric.snapshot, (pairs) => {
  const samples: MetricSample[] = []
  for (const pair of pairs) {
    const key = pair.metricKey
    const tags = Object.fromEntries(key.tags.map((t) => [t.key, t.value]))
    const description = Option.getOrUndefined(key.description)
    const base = { name: key.name, tags, ...(description ? { description } : {}) }
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      samples.push({ ...base, type: "counter", value: Number(state.count) })
    } else if (MetricState.isGaugeState(state)) {
      samples.push({ ...base, type: "gauge", value: Number(state.value) })
    } else if (MetricState.isHistogramState(state)) {
      samples.push({
        ...base,
        type: "histogram",
        value: state.count,
        buckets: state.buckets.map(([bound, count]) => [bound, count] as const),
        count: state.count,
        sum: state.sum,
      })
    }
  }
  return samples
})

/** A component reported that it cannot go on (`ComponentFatal`); the worker stops with it. */
export class ComponentFailed extends Data.TaggedError("ComponentFailed")<{
  readonly message: string
}> {}

/** One readable line for the runner's log: the error's tag and message, never a stack. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (isConfigError(error)) return `configuration: ${formatConfigError(error)}`
    if (error !== null && typeof error === "object" && "message" in error) {
      const tag = "_tag" in error ? `${String(error._tag)}: ` : ""
      return `${tag}${String(error.message)}`
    }
    return String(error)
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const d = defect.value
    return `defect: ${d instanceof Error ? d.message : String(d)}`
  }
  return Cause.isInterruptedOnly(cause) ? "interrupted" : (Cause.pretty(cause).split("\n")[0] ?? "")
}

/**
 * Runs `layer` (a component's entry Layer) as this worker's main fiber. Call once, at the top of
 * a worker entry file.
 */
export const runWorker = <E>(
  component: string,
  layer: Layer.Layer<never, E, Database | ComponentFatal | ComponentHealth>,
): void => {
  const health = ComponentHealth.makeRegistry()
  const heartbeat = Effect.gen(function* () {
    const metrics = yield* sampleMetrics
    const unready = health.unready()
    post(
      new Heartbeat({
        metrics,
        heapUsed: process.memoryUsage().heapUsed,
        ...(unready === undefined ? {} : { unready }),
      }),
    )
  })

  const main = Effect.gen(function* () {
    // A fatal report ends the main fiber with its message: the component's scope closes (its
    // finalizers run), the runner gets `Fatal` and restarts the worker with backoff.
    const fatal = yield* Deferred.make<never, ComponentFailed>()
    const host = Layer.succeed(ComponentFatal, {
      report: (message) =>
        Effect.logError(`component cannot go on: ${message}`).pipe(
          Effect.zipRight(Deferred.fail(fatal, new ComponentFailed({ message }))),
          Effect.asVoid,
        ),
    })
    const database = Database.layerConfig(component)
    const healthLayer = Layer.succeed(ComponentHealth, health.service)
    // The component's pool is watched by the host, through the pool itself.
    const poolWatch = Layer.scopedDiscard(watchPool(POOL_STALL_DEADLINE))
    yield* Layer.build(
      Layer.merge(layer, poolWatch).pipe(
        Layer.provide(Layer.mergeAll(database, host, healthLayer)),
      ),
    )
    yield* Effect.logInfo("component started")
    post(new Ready())
    yield* heartbeat.pipe(Effect.repeat(Schedule.spaced(HEARTBEAT_INTERVAL)), Effect.forkScoped)
    return yield* Deferred.await(fatal)
  }).pipe(Effect.scoped, Effect.annotateLogs("component", component))

  const program = Effect.flatMap(LoggingConfig, (logging) =>
    main.pipe(Effect.provide(Layer.merge(loggerLayer(logging), clockLayer))),
  )

  const fiber = Effect.runFork(program)
  let stopping = false

  self.onmessage = (event: MessageEvent) => {
    const message = decodeToWorker(event.data)
    if (Either.isLeft(message)) return
    if (message.right._tag === "Shutdown" && !stopping) {
      stopping = true
      Effect.runFork(Fiber.interrupt(fiber))
    }
  }

  fiber.addObserver((exit) => {
    if (stopping && Exit.isInterrupted(exit)) {
      post(new Stopped())
      process.exit(0)
    }
    const message = Exit.isFailure(exit) ? describeCause(exit.cause) : "main fiber ended"
    post(new Fatal({ message }))
    process.exit(1)
  })
}
