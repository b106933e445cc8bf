import { expect, test } from "bun:test"
import { burstFor, TokenBucket } from "./TokenBucket.ts"

test("lets the burst through, then one take per 1/rate seconds", () => {
  const bucket = new TokenBucket(25, 2, 0)
  expect(bucket.take(0)).toBe(0)
  expect(bucket.take(0)).toBe(0)
  expect(bucket.take(0)).toBe(40) // 1000 / 25
  expect(bucket.take(39)).toBe(1)
  expect(bucket.take(40)).toBe(0)
  expect(bucket.take(40)).toBe(40)
})

test("never more than burst + rate takes in any one-second window", () => {
  const rate = 25
  const bucket = new TokenBucket(rate, burstFor(rate), 0)
  const taken: number[] = []
  for (let now = 0; now < 10_000; now += 3) {
    while (bucket.take(now) === 0) taken.push(now)
  }
  let worst = 0
  for (let i = 0; i < taken.length; i++) {
    let j = i
    while (j < taken.length && (taken[j] ?? 0) < (taken[i] ?? 0) + 1000) j++
    worst = Math.max(worst, j - i)
  }
  expect(worst).toBeLessThanOrEqual(rate + burstFor(rate))
  expect(worst).toBeLessThan(30) // under Telegram's limit
  // and it does sustain the rate: ~25/s over 10 s
  expect(taken.length).toBeGreaterThanOrEqual(rate * 10)
  expect(taken.length).toBeLessThanOrEqual(rate * 10 + burstFor(rate))
})

test("saving up stops at the capacity", () => {
  const bucket = new TokenBucket(10, 3, 0)
  let burst = 0
  while (bucket.take(60_000) === 0) burst++
  expect(burst).toBe(3)
})
