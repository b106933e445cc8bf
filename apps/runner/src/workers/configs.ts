/**
 * The configuration each component reads in its worker, validated by the runner before any
 * worker starts (so that a bad value stops start-up with one line naming the variable).
 */
import { BotConfig } from "@flatwatch/bot/BotConfig"
import { DatabasePoolConfig } from "@flatwatch/db/Database"
import { Markets } from "@flatwatch/market/Markets"
import { loadParserConfig } from "@flatwatch/parser/ParserConfig"
import { PaymentsConfig } from "@flatwatch/subscriptions/Payments"
import { PlansConfig } from "@flatwatch/subscriptions/Plans"
import { SubscriptionsConfig } from "@flatwatch/subscriptions/Subscriptions"
import { SubscriptionsComponentConfig } from "@flatwatch/subscriptions/SubscriptionsComponent"
import * as OutboxSender from "@flatwatch/telegram/OutboxSender"
import { TelegramConfig } from "@flatwatch/telegram/TelegramConfig"
import { Config, Effect } from "effect"
import type { ComponentName } from "../Components.ts"

const databasePool = DatabasePoolConfig

/**
 * A `Config` or an Effect reading config (the parser also reads its html source files). Each
 * reads the loaded `Markets` (every component loads the same market files in its worker): the
 * bot resolves `BOT_MARKETS` and the parser each source's market with them.
 */
export const ComponentConfigs: Record<ComponentName, Effect.Effect<unknown, unknown, Markets>> = {
  bot: Effect.all([
    BotConfig,
    Config.all([SubscriptionsConfig, PlansConfig, PaymentsConfig, databasePool]),
  ]),
  parser: Effect.all([
    Config.all([TelegramConfig, OutboxSender.config(OutboxSender.presets.parser), databasePool]),
    loadParserConfig,
  ]),
  subscriptions: Effect.all([
    Markets,
    Config.all([
      TelegramConfig,
      SubscriptionsComponentConfig,
      OutboxSender.config(OutboxSender.presets.subscriptions),
      databasePool,
    ]),
  ]),
}
