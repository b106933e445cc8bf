import { expect, test } from "bun:test"
import { type BotProgress, POLL_STALL_MS, stallReason, UPDATE_STALL_MS } from "./BotHealth.ts"

const now = 1_000_000_000
const idle: BotProgress = {
  mode: "polling",
  polledAt: now - 1_000,
  pending: 0,
  busySince: 0,
  lastDoneAt: 0,
}

test("an idle bot that polls is ready, however long ago it last answered", () => {
  expect(stallReason(idle, now)).toBeUndefined()
})

test("updates in hand: ready while one finished recently or they arrived recently", () => {
  expect(
    stallReason({ ...idle, pending: 5, busySince: now - 1_000, lastDoneAt: 0 }, now),
  ).toBeUndefined()
  expect(
    stallReason(
      { ...idle, pending: 5, busySince: now - 2 * UPDATE_STALL_MS, lastDoneAt: now - 1_000 },
      now,
    ),
  ).toBeUndefined()
})

test("updates in hand and none answered past the deadline: not ready, saying so", () => {
  const stuck = { ...idle, pending: 7, busySince: now - UPDATE_STALL_MS - 5_000, lastDoneAt: 0 }
  expect(stallReason(stuck, now)).toBe("bot: 7 update(s) in hand and none answered for 95 s")
})

test("polling that stopped completing: not ready; a webhook bot has no polls to miss", () => {
  const silent = { ...idle, polledAt: now - POLL_STALL_MS - 1_000 }
  expect(stallReason(silent, now)).toBe("bot: no getUpdates has completed for 91 s")
  expect(stallReason({ ...silent, mode: "webhook" }, now)).toBeUndefined()
})
