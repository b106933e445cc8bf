import type { Database } from "@flatwatch/db/Database"
import type { Payments } from "@flatwatch/subscriptions/Payments"
import type { Plans } from "@flatwatch/subscriptions/Plans"
import type { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import type { Effect } from "effect"
import type { Context, SessionFlavor } from "grammy"
import type { AdminQueries } from "./AdminQueries.ts"
import type { BotSettings } from "./BotConfig.ts"
import type { Action } from "./CallbackData.ts"
import type { Filters } from "./Filters.ts"
import type { Language } from "./Format.ts"
import type { Messages } from "./Messages.ts"
import type { SessionData } from "./Session.ts"
import type { SessionStore } from "./SessionStore.ts"
import type { UserRow, Users } from "./Users.ts"

/** The services bot handlers use, all provided once by the bot component's runtime. */
export type BotServices =
  | Database
  | SessionStore
  | Users
  | Filters
  | AdminQueries
  | Subscriptions
  | Plans
  | Payments

/** Runs an effect on the bot's one runtime (captured when the component started). */
export type RunEffect = <A, E>(effect: Effect.Effect<A, E, BotServices>) => Promise<A>

export interface BotFlavor {
  /** The bridge from a grammY handler into Effect. */
  readonly run: RunEffect
  /** The sender's stored row, if they have one (loaded once per update). */
  user: UserRow | undefined
  /** The language of every reply: the user's choice, else Telegram's language code. */
  lang: Language
  t: Messages
  readonly isAdmin: boolean
  /** The pressed button's action, decoded with `Schema`; undefined when it does not decode. */
  action: Action | undefined
  /** Whether the pressed button was answered yet (the bot answers every one). */
  callbackAnswered: boolean
  /** The answer to the pressed button, sent once the handler is done (`answer` in Replies). */
  callbackAnswer: { readonly text?: string; readonly alert: boolean } | undefined
}

export type BotContext = Context & SessionFlavor<SessionData> & BotFlavor

/** What every feature gets when it is built. */
export interface FeatureDeps {
  readonly settings: BotSettings
  readonly run: RunEffect
}
