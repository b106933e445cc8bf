import type { Database, DatabaseError } from "@flatwatch/db/Database"
import { type MarketError, Markets } from "@flatwatch/market/Markets"
import type { ConfigError } from "effect"
import { Effect, Layer } from "effect"
import { BotConfig } from "./BotConfig.ts"
import { type BotStartError, servicesLayer, start } from "./BotServer.ts"

/**
 * The bot component: reads its config (BOT_TOKEN, BOT_MODE, ...), checks the token, and handles
 * updates until its scope closes; then it stops fetching, lets the handlers in flight finish,
 * and releases everything. Fails to build with `BotStartError` (`Unauthorized` for a rejected
 * token), a `ConfigError` naming the bad variable, or a `MarketError` naming a bad market file.
 * The markets (shipped and `MARKETS_DIR`) are loaded once, here.
 */
export const layer: Layer.Layer<
  never,
  BotStartError | ConfigError.ConfigError | DatabaseError | MarketError,
  Database
> = Layer.scopedDiscard(
  Effect.flatMap(BotConfig, start).pipe(Effect.annotateLogs("component", "bot")),
).pipe(Layer.provide(Layer.merge(servicesLayer, Markets.layerConfig)))
