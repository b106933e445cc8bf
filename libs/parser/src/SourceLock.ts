import { Database, type DatabaseError, toDatabaseError } from "@flatwatch/db/Database"
import { Effect, type Option } from "effect"

/** The first key of the two-key advisory locks taken per source ("fwsr"). */
const SOURCE_LOCK_CLASS = 0x66777372

/**
 * Runs `effect` only if no other process (any runner instance on this database) is running the
 * same source: a session advisory lock on a dedicated connection, held for the whole run and
 * released (with the connection) afterwards, also on failure or interruption. Returns none when
 * the lock is taken elsewhere. A lost connection releases the lock by itself.
 */
export const withSourceLock = <A, E, R>(
  source: string,
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<Option.Option<A>, E | DatabaseError, R | Database> =>
  Effect.flatMap(Database, (database) =>
    Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => database.sql.reserve(), catch: toDatabaseError }),
      (conn) =>
        Effect.tryPromise({
          try: () =>
            conn<{ locked: boolean }[]>`
              select pg_try_advisory_lock(${SOURCE_LOCK_CLASS}, hashtext(${source})) as locked`,
          catch: toDatabaseError,
        }).pipe(
          Effect.flatMap(([row]) =>
            row?.locked === true
              ? Effect.asSome(effect).pipe(
                  Effect.ensuring(
                    Effect.tryPromise(
                      () =>
                        conn`select pg_advisory_unlock(${SOURCE_LOCK_CLASS}, hashtext(${source}))`,
                    ).pipe(Effect.ignore),
                  ),
                )
              : Effect.succeedNone,
          ),
        ),
      (conn) => Effect.sync(() => conn.release()),
    ),
  )
