import { fileURLToPath } from "node:url"
import { drizzle } from "drizzle-orm/postgres-js"
import { migrate as drizzleMigrate } from "drizzle-orm/postgres-js/migrator"
import { Duration, Effect, Redacted } from "effect"
import postgres from "postgres"
import { connectRetry, DatabaseError, describeUrl, toDatabaseError } from "./Database.ts"

/** The committed SQL migrations, generated from `schema.ts` by drizzle-kit. */
export const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url))

/** Arbitrary but fixed: every Flatwatch process takes this advisory lock to migrate. */
const MIGRATION_LOCK_KEY = 0x666c6174 // "flat"

/**
 * Applies every pending migration, once, even when several runners start together: the work
 * happens on one dedicated connection holding a PostgreSQL advisory lock, so a second runner
 * waits for the first and then finds nothing left to do. A server that cannot be reached yet
 * (starting up, failing over) is tried again, each try logged, for up to `connectTimeout`
 * (default 10 seconds), as the components' pools do.
 */
export const migrate = (
  url: Redacted.Redacted<string>,
  options: {
    readonly lockTimeout?: Duration.DurationInput
    readonly connectTimeout?: Duration.DurationInput
    /** Another folder of migrations (tests apply a prefix of the committed ones). */
    readonly migrationsFolder?: string
  } = {},
): Effect.Effect<{ readonly applied: number }, DatabaseError> =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      postgres(Redacted.value(url), {
        max: 1,
        connect_timeout: 10,
        connection: { application_name: "flatwatch-migrate" },
        onnotice: () => {},
      }),
    ),
    (sql) =>
      Effect.gen(function* () {
        const run = <A>(f: () => PromiseLike<A>) =>
          Effect.tryPromise({ try: f, catch: toDatabaseError })
        const timeoutMs = Duration.toMillis(options.lockTimeout ?? "60 seconds")
        yield* run(() => sql`select set_config('lock_timeout', ${`${timeoutMs}ms`}, false)`)
        yield* run(() => sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`)
        const count = () =>
          sql`select count(*)::int as n from information_schema.tables
              where table_schema = 'drizzle' and table_name = '__drizzle_migrations'`.then(
            async ([row]) =>
              row?.n === 1
                ? ((await sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]
                    ?.n as number)
                : 0,
          )
        const before = yield* run(count)
        yield* run(() =>
          drizzleMigrate(drizzle({ client: sql }), {
            migrationsFolder: options.migrationsFolder ?? migrationsFolder,
          }),
        ).pipe(
          Effect.ensuring(
            run(() => sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`).pipe(Effect.ignore),
          ),
        )
        const after = yield* run(count)
        return { applied: after - before }
      }),
    (sql) => Effect.promise(() => sql.end({ timeout: 5 })),
  ).pipe(
    Effect.tapError((e) =>
      e.reason === "Connection"
        ? Effect.logWarning(
            `database at ${describeUrl(Redacted.value(url))} not reachable yet: ${e.message}; retrying`,
          )
        : Effect.void,
    ),
    Effect.retry({
      schedule: connectRetry(options.connectTimeout ?? "10 seconds"),
      while: (e) => e.reason === "Connection",
    }),
    Effect.mapError(
      (e) =>
        new DatabaseError({
          reason: e.reason === "Connection" ? "Unreachable" : e.reason,
          message: `migrating ${describeUrl(Redacted.value(url))} failed: ${e.message}`,
          cause: e.cause,
        }),
    ),
    Effect.tap(({ applied }) =>
      applied > 0 ? Effect.logInfo(`applied ${applied} database migration(s)`) : Effect.void,
    ),
    Effect.withSpan("Migrations.migrate"),
  )
