import type { PostgresJsDatabase } from "drizzle-orm/postgres-js"
import { drizzle } from "drizzle-orm/postgres-js"
import {
  Config,
  Context,
  Data,
  Duration,
  Effect,
  Exit,
  FiberRef,
  Layer,
  Option,
  Redacted,
  Schedule,
  type Scope,
} from "effect"
import postgres from "postgres"
import { positiveDuration } from "./DurationConfig.ts"
import * as schema from "./schema.ts"

export type Drizzle = PostgresJsDatabase<typeof schema>
export type Sql = postgres.Sql

/**
 * A failure talking to PostgreSQL. `Unreachable`: no connection could be made (start-up gives up
 * after its deadline); `Connection`: a connection broke mid-way (transient, retried where safe);
 * `Query`: the statement itself failed (constraint, syntax): not retried.
 */
export class DatabaseError extends Data.TaggedError("DatabaseError")<{
  readonly reason: "Unreachable" | "Connection" | "Query"
  readonly message: string
  readonly cause?: unknown
}> {
  /** The PostgreSQL error code (`23505` for a unique violation), when the server sent one. */
  get code(): string | undefined {
    const cause = this.cause as { code?: unknown } | undefined
    return typeof cause?.code === "string" ? cause.code : undefined
  }
}

export interface DatabaseOptions {
  readonly url: Redacted.Redacted<string>
  /** Shown in `pg_stat_activity` as `flatwatch-<component>`. */
  readonly component: string
  /** Pool size; small by default because every worker has its own pool. */
  readonly poolSize?: number
  /** How long start-up keeps retrying an unreachable server before failing. */
  readonly connectTimeout?: Duration.DurationInput
  /** How long closing the pool waits for running queries. */
  readonly closeTimeout?: Duration.DurationInput
}

export interface DatabaseShape {
  /** The pool, for raw SQL (`sql\`...\``) outside a transaction. */
  readonly sql: Sql
  /** Drizzle over the pool. Prefer `Database.query`, which joins the current transaction. */
  readonly db: Drizzle
  readonly component: string
}

interface Transaction {
  readonly owner: DatabaseShape
  readonly sql: postgres.ReservedSql
  readonly db: Drizzle
  readonly depth: number
}

const currentTransaction = FiberRef.unsafeMake<Option.Option<Transaction>>(Option.none())

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown (pg_terminate_backend, server restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "53300", // too_many_connections
])

const errorCode = (cause: unknown): string | undefined => {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

/** True for failures of the connection rather than of the statement. */
export const isConnectionFailure = (cause: unknown): boolean => {
  const code = errorCode(cause)
  if (code === undefined) return false
  return CONNECTION_CODES.has(code) || code.startsWith("08")
}

const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)

/** Wraps whatever postgres.js or drizzle threw, keeping the driver's error as `cause`. */
export const toDatabaseError = (cause: unknown): DatabaseError => {
  // Drizzle wraps driver errors in a DrizzleQueryError whose `cause` is the postgres.js error.
  const inner = (cause as { cause?: unknown } | null)?.cause
  const root = errorCode(cause) === undefined && inner !== undefined ? inner : cause
  return new DatabaseError({
    reason: isConnectionFailure(root) ? "Connection" : "Query",
    message: describe(root),
    cause: root,
  })
}

const transientRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(5)),
)

/** Host, port and database of a URL, without user or password: safe for logs and errors. */
export const describeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`
  } catch {
    return "an invalid DATABASE_URL"
  }
}

/**
 * How reaching a server at start-up is retried: 200 ms doubling, at most 2 s apart, for up to
 * `deadline` (the `DATABASE_CONNECT_TIMEOUT`).
 */
export const connectRetry = (deadline: Duration.DurationInput) =>
  Schedule.exponential("200 millis", 2).pipe(
    Schedule.union(Schedule.spaced("2 seconds")),
    Schedule.upTo(deadline),
  )

const makeDrizzle = (client: Sql): Drizzle => drizzle({ client, schema, casing: "snake_case" })

/**
 * Seconds before a pool connection that failed is opened again (postgres.js `backoff`): tripling
 * from 15 ms as postgres.js does, but capped at 2-4 s instead of 10-20 s, so that after a
 * database restart the components are back within seconds (an attempt every few seconds per
 * connection costs a server that is down nothing).
 */
export const reconnectDelaySeconds = (retries: number): number =>
  (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 4)

/**
 * Drizzle over one reserved connection. A reserved connection lacks the pool's `options`, which
 * Drizzle reads to install its type parsers; the connection was built from those same options.
 */
const drizzleOnReserved = (pool: Sql, conn: postgres.ReservedSql): Drizzle =>
  makeDrizzle(Object.assign(conn, { options: pool.options }) as unknown as Sql)

const make = (options: DatabaseOptions): Effect.Effect<DatabaseShape, DatabaseError, Scope.Scope> =>
  Effect.gen(function* () {
    const url = Redacted.value(options.url)
    const where = describeUrl(url)
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres(url, {
          max: options.poolSize ?? 4,
          idle_timeout: 30,
          max_lifetime: 60 * 30,
          connect_timeout: 10,
          backoff: reconnectDelaySeconds,
          connection: { application_name: `flatwatch-${options.component}` },
          // Notices ("relation already exists, skipping") are not errors; postgres.js would print them.
          onnotice: () => {},
        }),
      ),
      (sql) =>
        Effect.tryPromise(() =>
          sql.end({ timeout: Duration.toSeconds(options.closeTimeout ?? "5 seconds") }),
        ).pipe(
          Effect.tap(() => Effect.logDebug("database pool closed")),
          Effect.catchAll((e) => Effect.logWarning("closing the database pool failed", e)),
        ),
    )
    const deadline = Duration.toMillis(options.connectTimeout ?? "10 seconds")
    yield* Effect.tryPromise({ try: () => sql`select 1`, catch: toDatabaseError }).pipe(
      Effect.tapError((e) =>
        Effect.logWarning(`database at ${where} not reachable yet: ${e.message}`),
      ),
      Effect.retry({ schedule: connectRetry(deadline), while: (e) => e.reason === "Connection" }),
      Effect.mapError(
        (e) =>
          new DatabaseError({
            reason: e.reason === "Connection" ? "Unreachable" : e.reason,
            message: `cannot connect to PostgreSQL at ${where}: ${e.message}`,
            cause: e.cause,
          }),
      ),
    )
    return { sql, db: makeDrizzle(sql), component: options.component }
  }).pipe(Effect.withSpan("Database.make"))

/** `DATABASE_POOL_SIZE` (default 4) and `DATABASE_CONNECT_TIMEOUT` (default 10 seconds). */
export const DatabasePoolConfig = Config.all({
  poolSize: Config.integer("DATABASE_POOL_SIZE").pipe(
    Config.validate({
      message: "must be between 1 and 100",
      validation: (n) => n >= 1 && n <= 100,
    }),
    Config.withDefault(4),
  ),
  connectTimeout: positiveDuration("DATABASE_CONNECT_TIMEOUT", "10 seconds"),
})

const activeTransaction = (owner: DatabaseShape) =>
  Effect.map(FiberRef.get(currentTransaction), (tx) => Option.filter(tx, (t) => t.owner === owner))

const exec = (conn: postgres.ReservedSql, statement: string) =>
  Effect.tryPromise({ try: () => conn.unsafe(statement), catch: toDatabaseError })

/**
 * The database of one component. Acquire it with `Database.layer` or `Database.layerConfig`;
 * the pool is closed (`sql.end`) when the layer's scope closes.
 */
export class Database extends Context.Tag("@flatwatch/db/Database")<Database, DatabaseShape>() {
  static readonly make = make

  static readonly layer = (options: DatabaseOptions): Layer.Layer<Database, DatabaseError> =>
    Layer.scoped(Database, make(options))

  /**
   * Reads `DATABASE_URL` (secret) and the `DatabasePoolConfig` settings.
   */
  static readonly layerConfig = (component: string) =>
    Layer.scoped(
      Database,
      Effect.flatMap(
        Config.all({
          url: Config.redacted("DATABASE_URL"),
          pool: DatabasePoolConfig,
          shutdown: positiveDuration("SHUTDOWN_TIMEOUT", "20 seconds"),
        }),
        ({ url, pool, shutdown }) =>
          // Closing the pool is the last step of a worker's stop: a quarter of the runner's
          // SHUTDOWN_TIMEOUT at most (5 s by default), so the worker stops inside it.
          make({
            url,
            component,
            ...pool,
            closeTimeout: Duration.min(Duration.seconds(5), Duration.times(shutdown, 0.25)),
          }),
      ),
    )

  /**
   * Runs a Drizzle query on the current transaction when there is one, else on the pool.
   * Outside a transaction, a broken connection is retried a few times with backoff.
   */
  static readonly query = <A>(
    f: (db: Drizzle) => PromiseLike<A>,
  ): Effect.Effect<A, DatabaseError, Database> =>
    Effect.flatMap(Database, (database) =>
      Effect.flatMap(activeTransaction(database), (tx) =>
        Option.match(tx, {
          onSome: (t) => Effect.tryPromise({ try: () => f(t.db), catch: toDatabaseError }),
          onNone: () =>
            Effect.tryPromise({ try: () => f(database.db), catch: toDatabaseError }).pipe(
              Effect.retry({ schedule: transientRetry, while: (e) => e.reason === "Connection" }),
            ),
        }),
      ),
    )

  /** Raw postgres.js SQL on the current transaction's connection, or on the pool. */
  static readonly sql = <A>(
    f: (sql: Sql) => PromiseLike<A>,
  ): Effect.Effect<A, DatabaseError, Database> =>
    Effect.flatMap(Database, (database) =>
      Effect.flatMap(activeTransaction(database), (tx) =>
        Option.match(tx, {
          onSome: (t) => Effect.tryPromise({ try: () => f(t.sql), catch: toDatabaseError }),
          onNone: () =>
            Effect.tryPromise({ try: () => f(database.sql), catch: toDatabaseError }).pipe(
              Effect.retry({ schedule: transientRetry, while: (e) => e.reason === "Connection" }),
            ),
        }),
      ),
    )

  /**
   * Runs `effect` in one transaction: every `Database.query`/`Database.sql` inside it (however
   * deep) uses the transaction's connection; a failure, defect or interruption rolls back every
   * write. Nested use opens a savepoint, so an inner failure that the outer code recovers from
   * rolls back only the inner writes.
   */
  static readonly transaction = <A, E, R>(
    effect: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E | DatabaseError, R | Database> =>
    Effect.flatMap(Database, (database) =>
      Effect.flatMap(activeTransaction(database), (outer) =>
        Option.match(outer, {
          onSome: (t) => savepoint(t, effect),
          onNone: () => topLevel(database, effect),
        }),
      ),
    ).pipe(Effect.withSpan("Database.transaction"))
}

const topLevel = <A, E, R>(database: DatabaseShape, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => database.sql.reserve(), catch: toDatabaseError }).pipe(
      Effect.retry({ schedule: transientRetry, while: (e) => e.reason === "Connection" }),
    ),
    (conn) => {
      const tx: Transaction = {
        owner: database,
        sql: conn,
        db: drizzleOnReserved(database.sql, conn),
        depth: 0,
      }
      return exec(conn, "BEGIN").pipe(
        Effect.zipRight(Effect.locally(effect, currentTransaction, Option.some(tx))),
        Effect.tap(() => exec(conn, "COMMIT")),
      )
    },
    (conn, exit) =>
      (Exit.isSuccess(exit) ? Effect.void : exec(conn, "ROLLBACK").pipe(Effect.ignore)).pipe(
        Effect.ensuring(Effect.sync(() => conn.release())),
      ),
  )

const savepoint = <A, E, R>(outer: Transaction, effect: Effect.Effect<A, E, R>) => {
  const name = `fw_sp_${outer.depth + 1}`
  const tx: Transaction = { ...outer, depth: outer.depth + 1 }
  return Effect.acquireUseRelease(
    exec(outer.sql, `SAVEPOINT ${name}`),
    () =>
      Effect.locally(effect, currentTransaction, Option.some(tx)).pipe(
        Effect.tap(() => exec(outer.sql, `RELEASE SAVEPOINT ${name}`)),
      ),
    (_, exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : exec(outer.sql, `ROLLBACK TO SAVEPOINT ${name}`).pipe(Effect.ignore),
  )
}
