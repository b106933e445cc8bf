import type { Database } from "@flatwatch/db/Database"
import { type MarketError, Markets } from "@flatwatch/market/Markets"
import * as OutboxSender from "@flatwatch/telegram/OutboxSender"
import { type ConfigError, Effect, Layer, Option } from "effect"
import { Browser } from "./Browser.ts"
import { BrowserSessionStore } from "./BrowserSession.ts"
import { Fetcher } from "./Fetcher.ts"
import type { HtmlSourceConfigError } from "./HtmlSourceConfig.ts"
import { loadParserConfig, runSettings } from "./ParserConfig.ts"
import { scheduleSource } from "./SourceScheduler.ts"

/**
 * The parser component's scrape side: reads its config, then runs every enabled source on its
 * own cron (fetch, parse, store, match, queue alerts). Provides nothing; everything stops when
 * the layer's scope closes. Sending the queued alerts is the outbox sender's job. The markets
 * (shipped and `MARKETS_DIR`) are loaded once, here.
 */
export const scrapeLayer: Layer.Layer<
  never,
  ConfigError.ConfigError | HtmlSourceConfigError | MarketError,
  Database
> = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* loadParserConfig
    if (config.sources.length === 0) {
      yield* Effect.logWarning(
        "no source is enabled (BAYUT_ENABLED, AVITO_ENABLED, HTML_SOURCES): nothing to scrape",
      )
    }
    // One Chromium for the worker, only when a source may need it; it starts with the first
    // page a source asks of it and closes with this scope.
    const fetcher = yield* Layer.build(
      Option.match(config.browser, {
        onNone: () => Fetcher.Default,
        onSome: (options) =>
          Fetcher.Default.pipe(
            Layer.provide(Browser.layer({ ...options, owner: "parser" })),
            Layer.provide(BrowserSessionStore.layerDatabase),
          ),
      }),
    )
    for (const scheduled of config.sources) {
      yield* scheduleSource(scheduled, {
        jitter: config.jitter,
        runOnStart: config.runOnStart,
        settings: runSettings(config, scheduled),
      }).pipe(Effect.provide(fetcher))
    }
  }).pipe(Effect.annotateLogs({ component: "parser" })),
).pipe(Layer.provide(Markets.layerConfig))

/**
 * The parser component as the runner starts it: the scrape side, and the outbox sender for the
 * kinds this component owns (listing alerts, price drops, admin notices) at its own rate.
 */
export const layer: Layer.Layer<
  never,
  ConfigError.ConfigError | HtmlSourceConfigError | MarketError,
  Database
> = Layer.merge(scrapeLayer, OutboxSender.layerConfig(OutboxSender.presets.parser))
