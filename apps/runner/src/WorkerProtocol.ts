/**
 * Messages between the runner (main thread) and a component worker. Everything that crosses the
 * boundary is decoded with these schemas; a message that does not decode is logged and ignored.
 */
import { Schema } from "effect"

/** One metric of a worker, as its heartbeat reports it (Effect `Metric` snapshot, flattened). */
export const MetricSample = Schema.Struct({
  name: Schema.String,
  description: Schema.optional(Schema.String),
  type: Schema.Literal("counter", "gauge", "histogram"),
  tags: Schema.Record({ key: Schema.String, value: Schema.String }),
  value: Schema.Number,
  /** Histograms: cumulative [upper bound, count] pairs, plus count and sum. */
  buckets: Schema.optional(Schema.Array(Schema.Tuple(Schema.Number, Schema.Number))),
  count: Schema.optional(Schema.Number),
  sum: Schema.optional(Schema.Number),
})
export type MetricSample = typeof MetricSample.Type

export class Ready extends Schema.TaggedClass<Ready>()("Ready", {}) {}
export class Heartbeat extends Schema.TaggedClass<Heartbeat>()("Heartbeat", {
  metrics: Schema.Array(MetricSample),
  /** JS heap in use by this worker, bytes. */
  heapUsed: Schema.Number,
  /** Why the component is not doing its work right now (its health probes), if it is not. */
  unready: Schema.optional(Schema.String),
}) {}
export class Stopped extends Schema.TaggedClass<Stopped>()("Stopped", {}) {}
/** The component failed and the worker is about to exit; `message` is one readable line. */
export class Fatal extends Schema.TaggedClass<Fatal>()("Fatal", { message: Schema.String }) {}

export const ToRunner = Schema.Union(Ready, Heartbeat, Stopped, Fatal)
export type ToRunner = typeof ToRunner.Type

export class Shutdown extends Schema.TaggedClass<Shutdown>()("Shutdown", {}) {}
export const ToWorker = Schema.Union(Shutdown)
export type ToWorker = typeof ToWorker.Type

export const decodeToRunner = Schema.decodeUnknownEither(ToRunner)
export const decodeToWorker = Schema.decodeUnknownEither(ToWorker)
export const encodeToRunner = Schema.encodeSync(ToRunner)
export const encodeToWorker = Schema.encodeSync(ToWorker)
