import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import { enqueue, type NewDelivery } from "@flatwatch/telegram/Outbox"
import { inArray } from "drizzle-orm"
import { Effect } from "effect"

/**
 * Queues one admin notice per admin, each in the admin's language, in the current transaction
 * (so it is queued exactly when what it tells commits). `topic` makes the dedupe key (e.g.
 * `source:bayut:42`), so queuing one event twice sends it once. Admins who never started the bot
 * get a row with no user (the chat id of a private chat is the user id).
 */
export const queueAdminNotices = (
  adminIds: ReadonlyArray<number>,
  topic: string,
  text: (language: "ru" | "en") => string,
): Effect.Effect<number, DatabaseError, Database> =>
  adminIds.length === 0
    ? Effect.succeed(0)
    : Effect.gen(function* () {
        const known = yield* Database.query((db) =>
          db
            .select({ id: users.id, chatId: users.chatId, language: users.language })
            .from(users)
            .where(inArray(users.id, [...adminIds])),
        )
        const byId = new Map(known.map((u) => [u.id, u]))
        const rows: Array<NewDelivery> = adminIds.map((adminId) => {
          const user = byId.get(adminId)
          return {
            userId: user === undefined ? null : adminId,
            chatId: user?.chatId ?? adminId,
            kind: "admin_notice",
            dedupeKey: `admin_notice:${adminId}:${topic}`,
            payload: { text: text(user?.language ?? "en") },
          }
        })
        return yield* enqueue(rows)
      })
