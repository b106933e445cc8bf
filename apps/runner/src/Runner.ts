/**
 * The runner: validates the whole configuration, opens the health/metrics endpoint, provides the
 * database (the configured one or an embedded PostgreSQL), migrates it once, starts one worker
 * per requested component under supervision, and on the shutdown signal stops them within the
 * deadline, then the embedded database.
 */
import { resolve } from "node:path"
import { BotConfig } from "@flatwatch/bot/BotConfig"
import { DatabasePoolConfig } from "@flatwatch/db/Database"
import * as EmbeddedPostgres from "@flatwatch/db/EmbeddedPostgres"
import { migrate } from "@flatwatch/db/Migrations"
import { Markets } from "@flatwatch/market/Markets"
import { Data, Deferred, Duration, Effect, Option, Redacted, type Scope } from "effect"
import { type ComponentName, workerEntry } from "./Components.ts"
import { isConfigError } from "./ConfigErrors.ts"
import * as HealthServer from "./HealthServer.ts"
import { LoggingConfig } from "./Logging.ts"
import { ClockOffsetConfig } from "./OffsetClock.ts"
import { RunnerConfig } from "./RunnerConfig.ts"
import * as Supervisor from "./Supervisor.ts"
import { HEARTBEAT_INTERVAL } from "./WorkerHost.ts"
import { ComponentConfigs } from "./workers/configs.ts"

export interface RunOptions {
  readonly only: ReadonlyArray<ComponentName>
  /** Completed by the signal handler: start the graceful shutdown. */
  readonly shutdownSignal: Deferred.Deferred<void>
  /** Called once every worker has been started (signals before this interrupt the start-up). */
  readonly onStarted?: () => void
  readonly backoff?: Supervisor.BackoffPolicy
}

export interface RunResult {
  readonly timedOut: ReadonlyArray<string>
}

/**
 * Every setting of the runner and of the requested components, read once before anything
 * starts: a bad value stops start-up with a message that names the variable (or, for a market
 * or source file, the file and the field).
 */
export const validateConfig = (only: ReadonlyArray<ComponentName>) =>
  Effect.zipLeft(
    RunnerConfig,
    Effect.all([LoggingConfig, ClockOffsetConfig, ...only.map((name) => ComponentConfigs[name])]),
  ).pipe(
    Effect.tap((runner) =>
      // The bot's webhook server and the health endpoint run in one process: one port each.
      only.includes("bot")
        ? Effect.flatMap(BotConfig, (bot) =>
            Option.isSome(bot.webhook) &&
            bot.webhook.value.port !== 0 &&
            bot.webhook.value.port === runner.httpPort
              ? Effect.fail(
                  new InvalidConfiguration({
                    message: `WEBHOOK_PORT: must differ from HTTP_PORT (${runner.httpPort}), which the health endpoint uses`,
                  }),
                )
              : Effect.void,
          )
        : Effect.void,
    ),
    // The market files are checked once here; each worker loads them again for itself.
    Effect.provide(Markets.layerConfig),
    Effect.mapError((error) =>
      isConfigError(error)
        ? error
        : new InvalidConfiguration({
            message:
              error !== null && typeof error === "object" && "message" in error
                ? String(error.message)
                : String(error),
          }),
    ),
  )

/** A configuration problem other than an environment variable (e.g. a source config file). */
export class InvalidConfiguration extends Data.TaggedError("InvalidConfiguration")<{
  readonly message: string
}> {}

export const run = (options: RunOptions): Effect.Effect<RunResult, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* validateConfig(options.only)
    let supervisor: Supervisor.Supervisor | undefined
    const planned = options.only.map((name) => ({
      name,
      status: "starting" as const,
      restarts: 0,
      lastHeartbeatAt: undefined,
      metrics: [],
      heapUsed: undefined,
      lastError: undefined,
      unready: undefined,
    }))
    yield* HealthServer.serve({
      hostname: config.httpHost,
      port: config.httpPort,
      snapshot: () => supervisor?.snapshot() ?? planned,
      staleAfter: Duration.times(HEARTBEAT_INTERVAL, 5),
    })

    const databaseUrl = yield* Option.match(config.databaseUrl, {
      onSome: Effect.succeed,
      onNone: () =>
        EmbeddedPostgres.start({ dataDir: resolve(config.embeddedPostgresDir) }).pipe(
          Effect.map((pg) => pg.url),
        ),
    })
    const pool = yield* DatabasePoolConfig
    yield* migrate(databaseUrl, { connectTimeout: pool.connectTimeout })

    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined) env[key] = value
    env.DATABASE_URL = Redacted.value(databaseUrl)

    supervisor = yield* Supervisor.make({
      components: options.only.map((name) => ({ name, entry: workerEntry(name) })),
      env,
      staleAfter: Duration.times(HEARTBEAT_INTERVAL, 5),
      unreadyRestartAfter: config.unreadyRestartAfter,
      stopDeadline: config.shutdownTimeout,
      ...(options.backoff ? { backoff: options.backoff } : {}),
    })
    yield* Effect.logInfo(`started ${options.only.join(", ")}`)
    options.onStarted?.()

    yield* Deferred.await(options.shutdownSignal)
    yield* Effect.logInfo(`shutting down (deadline ${Duration.format(config.shutdownTimeout)})`)
    return yield* supervisor.shutdown(config.shutdownTimeout)
  })
