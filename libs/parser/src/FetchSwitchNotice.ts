import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import * as Html from "@flatwatch/telegram/Html"
import { enqueue, type NewDelivery } from "@flatwatch/telegram/Outbox"
import { inArray } from "drizzle-orm"
import { Effect } from "effect"
import type { FetchVia } from "./FetchMode.ts"

export interface FetchSwitch {
  readonly source: string
  readonly from: FetchVia
  readonly to: FetchVia
  readonly runId: number
}

/** The admin notice for a `fetch: auto` source switching transport (Telegram HTML). */
export const fetchSwitchNoticeText = (language: "ru" | "en", change: FetchSwitch): string => {
  const source = `<b>${Html.escape(change.source)}</b>`
  if (language === "ru") {
    return change.to === "browser"
      ? `🧭 Источник ${source} блокирует обычные запросы: читаю его через браузер (Chromium), пока обычный запрос снова не пройдёт (проверка раз в час; запуск #${change.runId}).`
      : `🧭 Источник ${source} снова отвечает на обычные запросы: браузер больше не нужен (запуск #${change.runId}).`
  }
  return change.to === "browser"
    ? `🧭 Source ${source} blocks plain requests: reading it through the browser (Chromium) until a plain request gets through again (checked hourly; run #${change.runId}).`
    : `🧭 Source ${source} answers plain requests again: back from the browser to plain HTTP (run #${change.runId}).`
}

/**
 * Queues one notice per admin about a transport switch, in the current transaction (so it is
 * queued exactly when the switch is recorded; idempotent per admin and run).
 */
export const queueFetchSwitchNotice = (
  adminIds: ReadonlyArray<number>,
  change: FetchSwitch,
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
            dedupeKey: `admin_notice:${adminId}:fetch:${change.source}:${change.runId}`,
            payload: { text: fetchSwitchNoticeText(user?.language ?? "en", change) },
          }
        })
        return yield* enqueue(rows)
      })
