import { Config, Layer, Logger, LogLevel } from "effect"

const LEVELS: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
}

/** `LOG_LEVEL` (trace, debug, info, warn, error, fatal, none; default info; any case). */
const logLevel = Config.string("LOG_LEVEL").pipe(
  Config.validate({
    message: `must be one of ${Object.keys(LEVELS).join(", ")}`,
    validation: (level) => level.toLowerCase() in LEVELS,
  }),
  Config.map((level) => LEVELS[level.toLowerCase()] ?? LogLevel.Info),
  Config.withDefault(LogLevel.Info),
)

/** `LOG_LEVEL` and `LOG_FORMAT` (`pretty` or `json`, default pretty). */
export const LoggingConfig = Config.all({
  level: logLevel,
  format: Config.literal(
    "pretty",
    "json",
  )("LOG_FORMAT").pipe(Config.withDefault("pretty" as const)),
})
export type LoggingConfig = Config.Config.Success<typeof LoggingConfig>

/** The logger of the runner and of every worker: one entry per line, at the configured level. */
export const loggerLayer = (config: LoggingConfig): Layer.Layer<never> =>
  Layer.merge(
    config.format === "json" ? Logger.json : Logger.pretty,
    Logger.minimumLogLevel(config.level),
  )
