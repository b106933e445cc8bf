import { expect, test } from "bun:test"
import { ConfigProvider, Effect, Either } from "effect"
import { formatDateTime, timeZone } from "./DisplayTime.ts"

const read = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.either(
      Effect.withConfigProvider(timeZone, ConfigProvider.fromMap(new Map(Object.entries(env)))),
    ),
  )

const at = new Date("2030-12-04T22:00:00Z")

test("dates are shown in the zone given, naming it, in each language", () => {
  expect(formatDateTime("en", at, "UTC")).toBe("4 December 2030 at 22:00 UTC")
  expect(formatDateTime("ru", at, "UTC")).toBe("4 декабря 2030 г. в 22:00 UTC")
  expect(formatDateTime("en", at, "Asia/Dubai")).toBe("5 December 2030 at 02:00 GST")
  expect(formatDateTime("ru", at, "Asia/Dubai")).toBe("5 декабря 2030 г. в 02:00 GMT+4")
})

test("TIME_ZONE defaults to UTC and is kept under its canonical name", () => {
  expect(read({})).toEqual(Either.right("UTC"))
  expect(read({ TIME_ZONE: "Asia/Dubai" })).toEqual(Either.right("Asia/Dubai"))
  expect(read({ TIME_ZONE: "asia/dubai" })).toEqual(Either.right("Asia/Dubai"))
})

test.each(["Mars/Olympus", "", "GMT+25"])(
  "a bad TIME_ZONE (%p) fails naming the variable",
  (zone) => {
    const result = read({ TIME_ZONE: zone })
    if (Either.isRight(result)) throw new Error(`accepted ${JSON.stringify(zone)}`)
    expect(String(result.left)).toContain("TIME_ZONE")
    expect(String(result.left)).toContain("IANA time zone")
  },
)
