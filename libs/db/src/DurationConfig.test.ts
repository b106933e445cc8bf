import { expect, test } from "bun:test"
import { ConfigProvider, Duration, Effect, Either } from "effect"
import { nonNegativeDuration, positiveDuration } from "./DurationConfig.ts"

const read = (config: ReturnType<typeof positiveDuration>, value: string | undefined) =>
  Effect.runSync(
    Effect.either(config).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(new Map(value === undefined ? [] : [["X", value]])),
      ),
    ),
  )

const ms = (r: ReturnType<typeof read>) =>
  Either.isRight(r) ? Duration.toMillis(r.right) : `error: ${String(r.left)}`

test("positive: a duration above zero passes; zero, negative and garbage name the variable", () => {
  expect(ms(read(positiveDuration("X", "20 seconds"), "5 seconds"))).toBe(5_000)
  expect(ms(read(positiveDuration("X", "20 seconds"), undefined))).toBe(20_000)
  for (const bad of ["0 seconds", "-5 seconds", "-1 millis", "soon", ""]) {
    expect(ms(read(positiveDuration("X", "20 seconds"), bad))).toContain(
      'Invalid data at X: "must be a duration longer than zero',
    )
  }
})

test("not negative: zero passes, a negative value (which Effect would read as zero) does not", () => {
  expect(ms(read(nonNegativeDuration("X", "10 seconds"), "0 seconds"))).toBe(0)
  expect(ms(read(nonNegativeDuration("X", "10 seconds"), " 2 minutes "))).toBe(120_000)
  expect(ms(read(nonNegativeDuration("X", "10 seconds"), "-1 seconds"))).toContain(
    'Invalid data at X: "must be a duration of zero or more',
  )
})

test("without a fallback the variable is required", () => {
  expect(ms(read(positiveDuration("X"), undefined))).toContain("X")
})
