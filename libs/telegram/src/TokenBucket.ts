/**
 * A token bucket on explicit times (milliseconds), so it can be driven by the Effect Clock and
 * tested without waiting. `rate` tokens per second, at most `capacity` saved up: in any window
 * of `w` seconds it lets through at most `capacity + rate * w` takes.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    readonly rate: number,
    readonly capacity: number,
    now: number,
  ) {
    if (!(rate > 0)) throw new RangeError("rate must be positive")
    if (!(capacity >= 1)) throw new RangeError("capacity must be at least 1")
    this.tokens = capacity
    this.last = now
  }

  private refill(now: number) {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000)
      this.last = now
    }
  }

  /** Takes a token and returns 0, or returns how many ms until one is available (takes none). */
  take(now: number): number {
    this.refill(now)
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    // (the epsilon keeps float noise such as 1.0000000000000009 from adding a millisecond)
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate - 1e-9))
  }
}

/**
 * The burst a sender allows itself: small, so that `burst + rate` per second stays under
 * Telegram's ~30 msg/s even when a sender runs at 25 msg/s.
 */
export const burstFor = (rate: number): number => Math.max(1, Math.floor(rate / 10))
