/**
 * The configuration each component reads in its worker, validated by the runner before any
 * worker starts (so that a bad value stops start-up with one line naming the variable).
 */
import { BotConfig } from "@flatwatch/bot/BotConfig"
import { PaymentsConfig } from "@flatwatch/subscriptions/Payments"
import { PlansConfig } from "@flatwatch/subscriptions/Plans"
import { SubscriptionsConfig } from "@flatwatch/subscriptions/Subscriptions"
import { SubscriptionsComponentConfig } from "@flatwatch/subscriptions/SubscriptionsComponent"
import { TelegramConfig } from "@flatwatch/telegram/TelegramConfig"
import { Config } from "effect"
import type { ComponentName } from "../Components.ts"

const databasePool = Config.all([
  Config.integer("DATABASE_POOL_SIZE").pipe(Config.withDefault(4)),
  Config.duration("DATABASE_CONNECT_TIMEOUT").pipe(Config.withDefault("10 seconds")),
])

export const ComponentConfigs: Record<ComponentName, Config.Config<unknown>> = {
  bot: Config.all([BotConfig, SubscriptionsConfig, PlansConfig, PaymentsConfig, databasePool]),
  parser: Config.all([TelegramConfig, databasePool]),
  subscriptions: Config.all([TelegramConfig, SubscriptionsComponentConfig, databasePool]),
}
