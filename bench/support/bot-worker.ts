/**
 * The bot component alone in a Bun Worker, as the runner runs it (its own thread, runtime and
 * database pool), for benchmarks. Started with its config as the first message; answers
 * "ready" (or "failed: ..."), and stops (scope closed, finalizers run) on "stop".
 */
import { layer } from "@flatwatch/bot/BotComponent"
import { Database } from "@flatwatch/db/Database"
import { ConfigProvider, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"

declare const self: Worker

self.onmessage = async (event: MessageEvent) => {
  const config = event.data as Record<string, string>
  const scope = Effect.runSync(Scope.make())
  const bot = layer.pipe(
    Layer.provide(Database.layerConfig("bot")),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(config))))),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
  )
  const built = await Effect.runPromiseExit(Layer.buildWithScope(bot, scope))
  if (Exit.isFailure(built)) {
    self.postMessage(`failed: ${String(built.cause)}`)
    return
  }
  self.onmessage = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    self.postMessage("stopped")
  }
  self.postMessage("ready")
}
