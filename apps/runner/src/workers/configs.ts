/**
 * The configuration each component reads in its worker, validated by the runner before any
 * worker starts (so that a bad value stops start-up with one line naming the variable).
 */
import { BotConfig } from "@flatwatch/bot/BotConfig"
import { DatabasePoolConfig } from "@flatwatch/db/Database"
import { PaymentsConfig } from "@flatwatch/subscriptions/Payments"
import { PlansConfig } from "@flatwatch/subscriptions/Plans"
import { SubscriptionsConfig } from "@flatwatch/subscriptions/Subscriptions"
import { SubscriptionsComponentConfig } from "@flatwatch/subscriptions/SubscriptionsComponent"
import * as OutboxSender from "@flatwatch/telegram/OutboxSender"
import { TelegramConfig } from "@flatwatch/telegram/TelegramConfig"
import { Config } from "effect"
import type { ComponentName } from "../Components.ts"

const databasePool = DatabasePoolConfig

export const ComponentConfigs: Record<ComponentName, Config.Config<unknown>> = {
  bot: Config.all([BotConfig, SubscriptionsConfig, PlansConfig, PaymentsConfig, databasePool]),
  parser: Config.all([
    TelegramConfig,
    OutboxSender.config(OutboxSender.presets.parser),
    databasePool,
  ]),
  subscriptions: Config.all([
    TelegramConfig,
    SubscriptionsComponentConfig,
    OutboxSender.config(OutboxSender.presets.subscriptions),
    databasePool,
  ]),
}
