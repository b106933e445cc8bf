import { expect, test } from "bun:test"
import { loadMarkets, Markets } from "@flatwatch/market/Markets"
import { ConfigProvider, Effect, Either, Option } from "effect"
import { BotConfig } from "./BotConfig.ts"

const shipped = await Effect.runPromise(loadMarkets())

const read = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.either(
      Effect.withConfigProvider(
        Effect.provideService(BotConfig, Markets, shipped),
        ConfigProvider.fromMap(new Map(Object.entries({ BOT_TOKEN: "1:token", ...env }))),
      ),
    ),
  )

const failure = (env: Record<string, string>): string => {
  const result = read(env)
  if (Either.isRight(result)) throw new Error(`accepted ${JSON.stringify(env)}`)
  return String(result.left)
}

const webhook = { BOT_MODE: "webhook", WEBHOOK_URL: "https://x.example/hook" }

test.each([
  ["BOT_MODE", { BOT_MODE: "hook" }],
  ["BOT_MARKETS", { BOT_MARKETS: "dubai,atlantis" }],
  ["BOT_MARKETS", { BOT_MARKETS: " , " }],
  ["MAX_FILTERS_PER_USER", { MAX_FILTERS_PER_USER: "0" }],
  ["MAX_FILTERS_PER_USER", { MAX_FILTERS_PER_USER: "many" }],
  ["WEBHOOK_URL", { ...webhook, WEBHOOK_URL: "ftp://x.example/hook", WEBHOOK_SECRET: "abc" }],
  ["WEBHOOK_URL", { BOT_MODE: "webhook", WEBHOOK_SECRET: "abc" }],
  ["WEBHOOK_SECRET", { ...webhook, WEBHOOK_SECRET: "has spaces in it" }],
  ["WEBHOOK_SECRET", webhook],
  ["WEBHOOK_PORT", { ...webhook, WEBHOOK_SECRET: "abc", WEBHOOK_PORT: "70000" }],
  ["ADMIN_IDS", { ADMIN_IDS: "me" }],
  ["TIME_ZONE", { TIME_ZONE: "Mars/Olympus" }],
])("a bad or missing %s fails naming the variable", (name, env) => {
  expect(failure(env)).toContain(`at ${name}:`)
})

test("a bad webhook secret is not repeated in the error", () => {
  expect(failure({ ...webhook, WEBHOOK_SECRET: "leaky secret" })).not.toContain("leaky")
})

test("the defaults: long polling, Dubai only, 5 searches per user, dates in UTC", () => {
  const settings = Either.getOrThrow(read({}))
  expect(settings.mode).toBe("polling")
  expect(Option.isNone(settings.webhook)).toBe(true)
  expect(settings.markets.map((m) => m.id)).toEqual(["dubai"])
  expect(settings.maxFiltersPerUser).toBe(5)
  expect(settings.timeZone).toBe("UTC")
})
