import { Database } from "@flatwatch/db/Database"
import { botSessions } from "@flatwatch/db/schema"
import { eq } from "drizzle-orm"
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

    const read = Effect.fn("SessionStore.read")(function* (key: string) {
      const rows = yield* Database.query((db) =>
        db.select({ value: botSessions.value }).from(botSessions).where(eq(botSessions.key, key)),
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
      yield* Database.query((db) => db.delete(botSessions).where(eq(botSessions.key, key)))
    }, withDb)

    const write = Effect.fn("SessionStore.write")(function* (key: string, value: SessionData) {
      if (Object.values(value).every((v) => v === undefined)) return yield* remove(key)
      const updatedAt = new Date(yield* Clock.currentTimeMillis)
      yield* Database.query((db) =>
        db
          .insert(botSessions)
          .values({ key, value, updatedAt })
          .onConflictDoUpdate({ target: botSessions.key, set: { value, updatedAt } }),
      )
    }, withDb)

    return { read, write, delete: remove } as const
  }),
}) {}

/** The grammY side of the store: each call runs on the bot's one captured runtime. */
export const sessionStorage = (
  run: <A, E>(effect: Effect.Effect<A, E, SessionStore>) => Promise<A>,
): StorageAdapter<SessionData> => ({
  read: (key) => run(Effect.flatMap(SessionStore, (s) => s.read(key))),
  write: (key, value) => run(Effect.flatMap(SessionStore, (s) => s.write(key, value))),
  delete: (key) => run(Effect.flatMap(SessionStore, (s) => s.delete(key))),
})
