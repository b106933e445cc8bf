/**
 * Durations read from the environment, checked at start-up: a timeout, an interval or a backoff
 * of zero or less is refused with one line naming the variable (a `0 seconds` shutdown deadline
 * would terminate every worker on every stop). It sits in `@flatwatch/db` because every
 * component depends on it.
 */
import { Config, ConfigError, Duration, Either, Option } from "effect"

const checked = (
  name: string,
  fallback: Duration.DurationInput | undefined,
  valid: (ms: number) => boolean,
  message: string,
): Config.Config<Duration.Duration> => {
  // Not `Config.duration`: it reads "-5 seconds" as zero, which would pass as "not negative".
  const read = Config.string(name).pipe(
    Config.mapOrFail((raw) => {
      const value = raw.trim()
      const decoded = value.startsWith("-") ? Option.none() : Duration.decodeUnknown(value)
      return Option.isSome(decoded) && valid(Duration.toMillis(decoded.value))
        ? Either.right(decoded.value)
        : Either.left(ConfigError.InvalidData([], message))
    }),
  )
  return fallback === undefined ? read : read.pipe(Config.withDefault(Duration.decode(fallback)))
}

/**
 * A duration that must be longer than zero (timeouts, intervals, deadlines, backoffs); without
 * `fallback` the variable is required (or wrap it in `Config.option`).
 */
export const positiveDuration = (
  name: string,
  fallback?: Duration.DurationInput,
): Config.Config<Duration.Duration> =>
  checked(name, fallback, (ms) => ms > 0, "must be a duration longer than zero (e.g. `20 seconds`)")

/** A duration that may be zero but not negative (a jitter, a politeness delay, an overlap). */
export const nonNegativeDuration = (
  name: string,
  fallback?: Duration.DurationInput,
): Config.Config<Duration.Duration> =>
  checked(
    name,
    fallback,
    (ms) => ms >= 0,
    "must be a duration of zero or more (e.g. `0 seconds`, `10 seconds`)",
  )
