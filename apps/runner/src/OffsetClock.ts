import { Clock, Config, Duration, Effect, Layer } from "effect"

/**
 * `CLOCK_OFFSET` (default none): moves every component's business clock (trial and subscription
 * ends, reminders, "access now") forward by a duration, e.g. `2 days`. For demos and end-to-end
 * tests that need days to pass without waiting; never set it in production. Timers and
 * schedules still run in real time.
 */
export const ClockOffsetConfig = Config.duration("CLOCK_OFFSET").pipe(
  Config.withDefault(Duration.zero),
)

/** The default clock, shifted forward by `offset`. */
export const offsetClock = (offset: Duration.Duration): Clock.Clock => {
  const base = Clock.make()
  const ms = Duration.toMillis(offset)
  const ns = BigInt(Math.round(ms)) * 1_000_000n
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + ms,
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + ms),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + ns,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + ns),
    sleep: (duration) => base.sleep(duration),
  }
}

/** Installs the offset clock when `CLOCK_OFFSET` is set; otherwise changes nothing. */
export const clockLayer: Layer.Layer<never, never, never> = Layer.unwrapEffect(
  Effect.map(Effect.orDie(ClockOffsetConfig), (offset) =>
    Duration.toMillis(offset) === 0 ? Layer.empty : Layer.setClock(offsetClock(offset)),
  ),
)
