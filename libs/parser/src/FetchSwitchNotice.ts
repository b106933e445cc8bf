import type { Database, DatabaseError } from "@flatwatch/db/Database"
import * as Html from "@flatwatch/telegram/Html"
import type { Effect } from "effect"
import { queueAdminNotices } from "./AdminNotices.ts"
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
  queueAdminNotices(adminIds, `fetch:${change.source}:${change.runId}`, (language) =>
    fetchSwitchNoticeText(language, change),
  )
