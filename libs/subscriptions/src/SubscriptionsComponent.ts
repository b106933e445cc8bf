/**
 * The subscriptions component: runs the worker's tick on a cron (default every minute) until
 * its scope closes. The messages it queues are sent by the outbox sender.
 */
import type { Database } from "@flatwatch/db/Database"
import { type MarketError, Markets } from "@flatwatch/market/Markets"
import * as OutboxSender from "@flatwatch/telegram/OutboxSender"
import { Cause, Config, ConfigError, Cron, Effect, Either, Layer, Metric, Schedule } from "effect"
import { PlansConfig } from "./Plans.ts"
import { SubscriptionsConfig } from "./Subscriptions.ts"
import { SubscriptionsWorker, SubscriptionsWorkerConfig } from "./SubscriptionsWorker.ts"

/** `SUBSCRIPTIONS_CRON`: when the worker ticks (5-field cron, UTC; default every minute). */
export const SubscriptionsScheduleConfig = Config.all({
  cron: Config.string("SUBSCRIPTIONS_CRON").pipe(
    Config.withDefault("* * * * *"),
    Config.mapOrFail((text) =>
      Either.mapLeft(Cron.parse(text, "UTC"), (e) =>
        ConfigError.InvalidData(["SUBSCRIPTIONS_CRON"], `not a cron expression: ${e.message}`),
      ),
    ),
  ),
})

/**
 * Everything this component reads (schedule, reminder offsets, time zone, batch size, plans for
 * the renew buttons, trial length), for the runner to validate before any worker starts.
 */
export const SubscriptionsComponentConfig = Config.all([
  SubscriptionsScheduleConfig,
  SubscriptionsWorkerConfig,
  PlansConfig,
  SubscriptionsConfig,
])

const tickFailures = Metric.counter("subscriptions_tick_failures_total", {
  description: "worker ticks that failed (retried on the next cron tick)",
  incremental: true,
})

/**
 * Ticks at start and then on `SUBSCRIPTIONS_CRON`. The schedule runs on the Effect `Clock`, so a
 * `TestClock` drives it in tests. A failed tick is logged and counted; the next one retries.
 */
export const workerLayer: Layer.Layer<never, ConfigError.ConfigError, Database> =
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const { cron } = yield* SubscriptionsScheduleConfig
      const worker = yield* SubscriptionsWorker
      const offsets = worker.config.reminderOffsets.map((o) => o.key).join(",")
      yield* Effect.logInfo(`subscriptions worker started (reminders at ${offsets || "none"})`)
      yield* worker.tick.pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.zipRight(
                Metric.increment(tickFailures),
                Effect.logError("subscriptions tick failed; retrying on the next tick", cause),
              ),
        ),
        Effect.repeat(Schedule.cron(cron)),
        Effect.onInterrupt(() => Effect.logInfo("subscriptions worker stopped")),
        Effect.forkScoped,
      )
    }).pipe(Effect.annotateLogs("component", "subscriptions")),
  ).pipe(Layer.provide(SubscriptionsWorker.Default))

/**
 * The markets, loaded like in the other components (shipped and `MARKETS_DIR`): a bad market
 * file stops this worker too, and every component runs on the same set. The worker itself needs
 * nothing of them yet (notices are dated in `TIME_ZONE`).
 */
const marketsLayer = Layer.effectDiscard(
  Effect.flatMap(Markets, (markets) =>
    Effect.logDebug(`markets: ${markets.ids.join(", ")}`).pipe(
      Effect.annotateLogs("component", "subscriptions"),
    ),
  ),
).pipe(Layer.provide(Markets.layerConfig))

/**
 * The subscriptions component as the runner starts it: the markets, the worker, and the outbox
 * sender for the kinds this component owns (reminders, expiry notices, notices, broadcasts) at
 * its own rate.
 */
export const layer: Layer.Layer<never, ConfigError.ConfigError | MarketError, Database> =
  Layer.mergeAll(
    marketsLayer,
    workerLayer,
    OutboxSender.layerConfig(OutboxSender.presets.subscriptions),
  )
