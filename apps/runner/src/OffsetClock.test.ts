import { expect, test } from "bun:test"
import { Clock, ConfigProvider, Duration, Effect, Layer } from "effect"
import { clockLayer, offsetClock } from "./OffsetClock.ts"

test("the offset clock runs ahead by the offset", async () => {
  const before = Date.now()
  const now = await Effect.runPromise(
    Clock.currentTimeMillis.pipe(Effect.withClock(offsetClock(Duration.days(2)))),
  )
  expect(now - before).toBeGreaterThanOrEqual(Duration.toMillis(Duration.days(2)))
  expect(now - before).toBeLessThan(Duration.toMillis(Duration.days(2)) + 1000)
})

test("CLOCK_OFFSET installs it; unset leaves the clock alone", async () => {
  const read = (env: Record<string, string>) =>
    Effect.runPromise(
      Clock.currentTimeMillis.pipe(
        Effect.provide(
          clockLayer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))),
        ),
      ),
    )
  const t0 = Date.now()
  expect((await read({ CLOCK_OFFSET: "1 hour" })) - t0).toBeGreaterThanOrEqual(3_600_000)
  expect((await read({})) - t0).toBeLessThan(1000)
})
