import { Config, Duration, Redacted } from "effect"

const isPostgresUrl = (value: string) => {
  try {
    const u = new URL(value)
    return u.protocol === "postgres:" || u.protocol === "postgresql:"
  } catch {
    return false
  }
}

/** `DATABASE_URL`: optional; without it an embedded PostgreSQL is started. */
const databaseUrl = Config.string("DATABASE_URL").pipe(
  Config.validate({
    message: "is not a postgres:// URL (postgres://user:password@host:5432/db)",
    validation: isPostgresUrl,
  }),
  Config.map(Redacted.make),
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
  shutdownTimeout: Config.duration("SHUTDOWN_TIMEOUT").pipe(
    Config.withDefault(Duration.seconds(20)),
  ),
  databaseUrl,
  embeddedPostgresDir: Config.string("EMBEDDED_POSTGRES_DIR").pipe(
    Config.withDefault(".data/postgres"),
  ),
})
export type RunnerConfig = Config.Config.Success<typeof RunnerConfig>
