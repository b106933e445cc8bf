import { expect, test } from "bun:test"
import { loadMarkets, Markets } from "@flatwatch/market/Markets"
import { ConfigProvider, Effect, Either } from "effect"
import { formatConfigError, isConfigError } from "../ConfigErrors.ts"
import { ComponentConfigs } from "./configs.ts"

const shipped = await Effect.runPromise(loadMarkets())

/** What the runner would print for `component`'s config read from `env`; undefined when valid. */
const problem = (component: "bot" | "subscriptions", env: Record<string, string>) => {
  const result = Effect.runSync(
    Effect.either(
      Effect.withConfigProvider(
        Effect.provideService(ComponentConfigs[component], Markets, shipped),
        ConfigProvider.fromMap(new Map(Object.entries({ BOT_TOKEN: "1:token", ...env }))),
      ),
    ),
  )
  if (Either.isRight(result)) return undefined
  return isConfigError(result.left) ? formatConfigError(result.left) : String(result.left)
}

test.each(["bot", "subscriptions"] as const)(
  "the %s component's config takes TIME_ZONE and refuses a zone that does not exist",
  (component) => {
    expect(problem(component, {})).toBeUndefined()
    expect(problem(component, { TIME_ZONE: "Asia/Dubai" })).toBeUndefined()
    expect(problem(component, { TIME_ZONE: "Mars/Olympus" })).toBe(
      "TIME_ZONE: must be an IANA time zone such as UTC or Asia/Dubai",
    )
  },
)
