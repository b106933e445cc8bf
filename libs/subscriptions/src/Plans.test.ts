import { expect, test } from "bun:test"
import { ConfigProvider, Effect, Either } from "effect"
import { isPlanId, Plans } from "./Plans.ts"

const plansWith = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.either(
      Effect.map(Plans, (p) => p.all).pipe(
        Effect.provide(Plans.Default),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      ),
    ),
  )

test("the default plans are the original bot's: day 20, week 50, month 200 Stars", async () => {
  expect(await plansWith({})).toEqual(
    Either.right([
      { id: "day", stars: 20, days: 1 },
      { id: "week", stars: 50, days: 7 },
      { id: "month", stars: 200, days: 30 },
    ]),
  )
})

test("prices and durations come from the environment", async () => {
  const plans = await plansWith({ PLAN_WEEK_STARS: "75", PLAN_MONTH_DAYS: "31" })
  expect(plans).toEqual(
    Either.right([
      { id: "day", stars: 20, days: 1 },
      { id: "week", stars: 75, days: 7 },
      { id: "month", stars: 200, days: 31 },
    ]),
  )
})

test.each([
  ["PLAN_DAY_STARS", "0"],
  ["PLAN_WEEK_STARS", "-5"],
  ["PLAN_MONTH_DAYS", "1.5"],
  ["PLAN_WEEK_DAYS", "seven"],
])("a bad %s (%p) fails with a message naming the variable", async (name, value) => {
  const plans = await plansWith({ [name]: value })
  expect(Either.isLeft(plans)).toBe(true)
  if (Either.isLeft(plans)) expect(String(plans.left)).toContain(name)
})

test("plan ids from untrusted input are narrowed", () => {
  expect(["day", "week", "month", "trial", "grant", "DAY", ""].filter(isPlanId)).toEqual([
    "day",
    "week",
    "month",
  ])
})
