import { Config, Effect, Schema } from "effect"

/** The plans a user can buy with Telegram Stars. */
export const PlanId = Schema.Literal("day", "week", "month")
export type PlanId = typeof PlanId.Type

export const planIds: ReadonlyArray<PlanId> = PlanId.literals

/** A plan as configured now: its price in Stars and the days it adds. */
export interface Plan {
  readonly id: PlanId
  readonly stars: number
  readonly days: number
}

/** Narrows untrusted input (callback data, an invoice payload field) to a plan id. */
export const isPlanId = Schema.is(PlanId)

const DEFAULTS: Record<PlanId, { readonly stars: number; readonly days: number }> = {
  day: { stars: 20, days: 1 },
  week: { stars: 50, days: 7 },
  month: { stars: 200, days: 30 },
}

const positiveInteger = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n > 0 }),
    Config.withDefault(fallback),
  )

const planConfig = (id: PlanId): Config.Config<Plan> => {
  const prefix = `PLAN_${id.toUpperCase()}`
  return Config.all({
    stars: positiveInteger(`${prefix}_STARS`, DEFAULTS[id].stars),
    days: positiveInteger(`${prefix}_DAYS`, DEFAULTS[id].days),
  }).pipe(Config.map(({ stars, days }) => ({ id, stars, days })))
}

/**
 * `PLAN_DAY_STARS`, `PLAN_DAY_DAYS`, `PLAN_WEEK_STARS`, `PLAN_WEEK_DAYS`, `PLAN_MONTH_STARS`,
 * `PLAN_MONTH_DAYS`: positive integers (defaults 20/1, 50/7, 200/30). A bad value fails with a
 * message naming the variable.
 */
export const PlansConfig: Config.Config<Readonly<Record<PlanId, Plan>>> = Config.all({
  day: planConfig("day"),
  week: planConfig("week"),
  month: planConfig("month"),
})

/** The configured plans. */
export class Plans extends Effect.Service<Plans>()("@flatwatch/subscriptions/Plans", {
  effect: Effect.map(PlansConfig, (byId) => ({
    /** Every plan, in display order (day, week, month). */
    all: planIds.map((id) => byId[id]),
    get: (id: PlanId): Plan => byId[id],
  })),
}) {}
