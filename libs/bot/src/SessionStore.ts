import { Database } from "@flatwatch/db/Database"
import { Clock, Effect, Option, Schema } from "effect"
import type { StorageAdapter } from "grammy"
import { SessionData } from "./Session.ts"

const decode = Schema.decodeUnknownOption(SessionData)

/**
 * Bot sessions in PostgreSQL (`bot_sessions`, one row per key). An empty session is not kept:
 * writing `{}` deletes the row, so users who are not in the middle of anything cost no row.
 */
export class SessionStore extends Effect.Service<SessionStore>()("@flatwatch/bot/SessionStore", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)

    // Raw SQL on the hot path (every update reads, most write): no query building per call.
    const read = Effect.fn("SessionStore.read")(function* (key: string) {
      const rows = yield* Database.sql(
        (sql) => sql<Array<{ value: unknown }>>`select value from bot_sessions where key = ${key}`,
      )
      const row = rows[0]
      if (row === undefined) return undefined
      const decoded = decode(row.value)
      if (Option.isNone(decoded)) {
        yield* Effect.logWarning("a stored bot session has an unknown shape; starting afresh")
        return undefined
      }
      return decoded.value
    }, withDb)

    const remove = Effect.fn("SessionStore.delete")(function* (key: string) {
      yield* Database.sql((sql) => sql`delete from bot_sessions where key = ${key}`)
    }, withDb)

    const write = Effect.fn("SessionStore.write")(function* (key: string, value: SessionData) {
      if (Object.values(value).every((v) => v === undefined)) return yield* remove(key)
      const updatedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
      const json = JSON.stringify(value)
      yield* Database.sql(
        (sql) => sql`
          insert into bot_sessions (key, value, updated_at)
          values (${key}, ${json}::jsonb, ${updatedAt}::timestamptz)
          on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
      )
    }, withDb)

    return { read, write, delete: remove } as const
  }),
}) {}

/**
 * The grammY side of the store: each call runs on the bot's one captured runtime. grammY writes
 * the session back after every update that read it; a write of exactly what was read is
 * skipped (the bot sequences each user's updates, so nothing can have changed it meanwhile).
 */
export const sessionStorage = (
  run: <A, E>(effect: Effect.Effect<A, E, SessionStore>) => Promise<A>,
): StorageAdapter<SessionData> => {
  /** What each key held when last read, as JSON (`{}` for no row); dropped at the write. */
  const asRead = new Map<string, string>()
  return {
    read: async (key) => {
      const value = await run(Effect.flatMap(SessionStore, (s) => s.read(key)))
      asRead.set(key, JSON.stringify(value ?? {}))
      return value
    },
    write: async (key, value) => {
      const unchanged = asRead.get(key) === JSON.stringify(value)
      asRead.delete(key)
      if (!unchanged) await run(Effect.flatMap(SessionStore, (s) => s.write(key, value)))
    },
    delete: async (key) => {
      asRead.delete(key)
      await run(Effect.flatMap(SessionStore, (s) => s.delete(key)))
    },
  }
}
