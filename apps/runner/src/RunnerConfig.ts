import { positiveDuration } from "@flatwatch/db/DurationConfig"
import { Config, ConfigError, Either, Redacted } from "effect"

const EXAMPLE = "postgres://user:password@host:5432/db"

/**
 * What is wrong with a `DATABASE_URL`, naming the part (never echoing the password), or
 * undefined when it is a usable postgres URL.
 */
export const postgresUrlProblem = (value: string): string | undefined => {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]
  if (scheme === undefined) return `does not start with postgres:// (${EXAMPLE})`
  if (!/^postgres(ql)?$/i.test(scheme))
    return `has the scheme ${scheme}:// where postgres:// or postgresql:// belongs (${EXAMPLE})`
  // The authority: after the scheme, up to the path; the port follows the last ":" past any "@".
  const authority = value.slice(scheme.length + 3).split(/[/?#]/)[0] ?? ""
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1)
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1]
  if (port !== undefined && port !== "") {
    if (!/^\d+$/.test(port)) return `has a port that is not a number (${EXAMPLE})`
    if (Number(port) < 1 || Number(port) > 65535)
      return `has port ${port}, outside 1-65535 (${EXAMPLE})`
  }
  if (!URL.canParse(value))
    return `is not a valid URL (${EXAMPLE}; a password with @, : or / must be percent-encoded)`
  return undefined
}

/** `DATABASE_URL`: optional; without it an embedded PostgreSQL is started. */
const databaseUrl = Config.string("DATABASE_URL").pipe(
  Config.mapOrFail((value) => {
    const problem = postgresUrlProblem(value)
    return problem === undefined
      ? Either.right(Redacted.make(value))
      : Either.left(ConfigError.InvalidData(["DATABASE_URL"], problem))
  }),
  Config.option,
)

/** The runner's own settings. */
export const RunnerConfig = Config.all({
  httpPort: Config.integer("HTTP_PORT").pipe(
    Config.validate({
      message: "must be a port number (0-65535)",
      validation: (p) => p >= 0 && p <= 65535,
    }),
    Config.withDefault(8080),
  ),
  httpHost: Config.string("HTTP_HOST").pipe(Config.withDefault("0.0.0.0")),
  shutdownTimeout: positiveDuration("SHUTDOWN_TIMEOUT", "20 seconds"),
  /** A component not ready this long (a stale heartbeat, a stalled pool or bot) is restarted. */
  unreadyRestartAfter: positiveDuration("UNREADY_RESTART_AFTER", "60 seconds"),
  databaseUrl,
  embeddedPostgresDir: Config.string("EMBEDDED_POSTGRES_DIR").pipe(
    Config.withDefault(".data/postgres"),
  ),
})
export type RunnerConfig = Config.Config.Success<typeof RunnerConfig>
