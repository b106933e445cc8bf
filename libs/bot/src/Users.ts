import { Database } from "@flatwatch/db/Database"
import { botSessions, users } from "@flatwatch/db/schema"
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

/** The users table as the bot sees it: profile, language, pause, blocked flag, erasure. */
export class Users extends Effect.Service<Users>()("@flatwatch/bot/Users", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
      Effect.provideService(effect, Database, database)

    const get = Effect.fn("Users.get")(function* (userId: number) {
      const rows = yield* Database.query((db) =>
        db.select().from(users).where(eq(users.id, userId)),
      )
      return rows[0]
    }, withDb)

    /**
     * Creates the user, or refreshes their name and chat. Talking to the bot means they have not
     * blocked it, so `blocked_at` is cleared. The language is set only on creation.
     */
    const upsert = Effect.fn("Users.upsert")(function* (from: TelegramUser) {
      const at = yield* now
      const rows = yield* Database.query((db) =>
        db
          .insert(users)
          .values({
            id: from.id,
            chatId: from.chatId,
            username: from.username,
            firstName: from.firstName,
            language: from.language,
          })
          .onConflictDoUpdate({
            target: users.id,
            set: {
              chatId: from.chatId,
              username: from.username,
              firstName: from.firstName,
              blockedAt: null,
              updatedAt: at,
            },
          })
          .returning(),
      )
      const row = rows[0]
      if (row === undefined) return yield* Effect.dieMessage("upsert returned no row")
      return row
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
