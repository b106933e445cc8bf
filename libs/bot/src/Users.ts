import { Database } from "@flatwatch/db/Database"
import { botSessions, users } from "@flatwatch/db/schema"
import { trialHash } from "@flatwatch/subscriptions/Subscriptions"
import { eq } from "drizzle-orm"
import { Clock, Effect } from "effect"
import type { Language } from "./Format.ts"

export type UserRow = typeof users.$inferSelect

/** Who a Telegram update comes from, as far as the users table cares. */
export interface TelegramUser {
  readonly id: number
  readonly chatId: number
  readonly username: string | null
  readonly firstName: string | null
  /** Used only when the row is created; afterwards the user's own choice (/language) wins. */
  readonly language: Language
}

/** The session key of a user (sessions are per user: the bot only talks in private chats). */
export const sessionKey = (userId: number): string => String(userId)

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** A users row as raw SQL returns it (bigints and timestamps as text). */
interface RawUser {
  readonly id: string | number
  readonly chat_id: string | number
  readonly username: string | null
  readonly first_name: string | null
  readonly language: Language
  readonly created_at: string
  readonly updated_at: string
  readonly blocked_at: string | null
  readonly paused_at: string | null
  readonly trial_used_at: string | null
}

const date = (v: string | null) => (v === null ? null : new Date(v))

const fromRaw = (r: RawUser): UserRow => ({
  id: Number(r.id),
  chatId: Number(r.chat_id),
  username: r.username,
  firstName: r.first_name,
  language: r.language,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  blockedAt: date(r.blocked_at),
  pausedAt: date(r.paused_at),
  trialUsedAt: date(r.trial_used_at),
})

/** The users table as the bot sees it: profile, language, pause, blocked flag, erasure. */
export class Users extends Effect.Service<Users>()("@flatwatch/bot/Users", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)

    // Raw SQL: this runs for every update (the sender's language), so no query building per call.
    const get = Effect.fn("Users.get")(function* (userId: number) {
      const rows = yield* Database.sql(
        (sql) => sql<Array<RawUser>>`
          select id, chat_id, username, first_name, language, created_at, updated_at,
                 blocked_at, paused_at, trial_used_at
          from users where id = ${userId}`,
      )
      const row = rows[0]
      return row === undefined ? undefined : fromRaw(row)
    }, withDb)

    /**
     * Creates the user, or refreshes their name and chat. Talking to the bot means they have not
     * blocked it, so `blocked_at` is cleared. The language is set only on creation, and so is
     * `trial_used_at` for someone back after /deleteme (from the kept `trial_claims` hash).
     */
    const upsert = Effect.fn("Users.upsert")(function* (from: TelegramUser) {
      const at = (yield* now).toISOString()
      // Raw SQL, like `get`: /start is the commonest command.
      const rows = yield* Database.sql(
        (sql) => sql<Array<RawUser>>`
          insert into users (id, chat_id, username, first_name, language, created_at, updated_at,
                             trial_used_at)
          values (${from.id}, ${from.chatId}, ${from.username}, ${from.firstName},
                  ${from.language}::language, ${at}::timestamptz, ${at}::timestamptz,
                  (select claimed_at from trial_claims where id_hash = ${trialHash(from.id)}))
          on conflict (id) do update set
            chat_id = excluded.chat_id, username = excluded.username,
            first_name = excluded.first_name, blocked_at = null, updated_at = excluded.updated_at
          returning id, chat_id, username, first_name, language, created_at, updated_at,
                    blocked_at, paused_at, trial_used_at`,
      )
      const row = rows[0]
      if (row === undefined) return yield* Effect.dieMessage("upsert returned no row")
      return fromRaw(row)
    }, withDb)

    const update = (userId: number, set: Partial<typeof users.$inferInsert>) =>
      Effect.flatMap(now, (at) =>
        Database.query((db) =>
          db
            .update(users)
            .set({ ...set, updatedAt: at })
            .where(eq(users.id, userId))
            .returning({ id: users.id }),
        ),
      ).pipe(
        Effect.map((rows) => rows.length > 0),
        withDb,
      )

    const setLanguage = Effect.fn("Users.setLanguage")(function* (
      userId: number,
      language: Language,
    ) {
      return yield* update(userId, { language })
    })

    /** /pause and /resume; false when the user has no row. */
    const setPaused = Effect.fn("Users.setPaused")(function* (userId: number, paused: boolean) {
      return yield* update(userId, { pausedAt: paused ? yield* now : null })
    })

    /** The user blocked (kicked) the bot, or came back. */
    const setBlocked = Effect.fn("Users.setBlocked")(function* (userId: number, blocked: boolean) {
      return yield* update(userId, { blockedAt: blocked ? yield* now : null })
    })

    /**
     * /deleteme: the session and the users row go; filters, subscriptions and deliveries follow by
     * cascade, payments keep an anonymous accounting row, `trial_claims` keeps only a hash.
     * Returns whether there was a user to erase.
     */
    const erase = Effect.fn("Users.erase")(function* (userId: number) {
      return yield* Database.transaction(
        Effect.gen(function* () {
          yield* Database.query((db) =>
            db.delete(botSessions).where(eq(botSessions.key, sessionKey(userId))),
          )
          const deleted = yield* Database.query((db) =>
            db.delete(users).where(eq(users.id, userId)).returning({ id: users.id }),
          )
          return deleted.length > 0
        }),
      )
    }, withDb)

    return { get, upsert, setLanguage, setPaused, setBlocked, erase } as const
  }),
}) {}
