/**
 * The bot's flood gate without Telegram: after a 429 every caller waits; then exactly one goes
 * first as a probe and the others wait for its answer.
 */
import { expect, test } from "bun:test"
import { FloodGate } from "./ReplyRetry.ts"

const far = () => Date.now() + 10_000

test("an open gate lets every call go at once", async () => {
  const gate = new FloodGate()
  expect(await Promise.all([gate.enter(far(), []), gate.enter(far(), [])])).toEqual(["go", "go"])
})

test("after a 429: everyone waits retry_after, then one probe; its ok lets the others go", async () => {
  const gate = new FloodGate()
  gate.close(0.2)
  const started = Date.now()
  const entries: string[] = []
  const callers = Array.from({ length: 5 }, () =>
    gate.enter(far(), []).then((e) => {
      entries.push(e)
      return e
    }),
  )
  // Wait for the probe, then answer it ok.
  while (!entries.includes("probe")) await Bun.sleep(5)
  expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  expect(entries).toEqual(["probe"])
  gate.settle(false)
  expect((await Promise.all(callers)).sort()).toEqual(["go", "go", "go", "go", "probe"])
})

test("a probe answered 429 closes the gate again; the next probe comes only after it", async () => {
  const gate = new FloodGate()
  gate.close(0.05)
  expect(await gate.enter(far(), [])).toBe("probe")
  const waiting = gate.enter(far(), [])
  gate.close(0.1)
  gate.settle(true)
  const t0 = Date.now()
  expect(await waiting).toBe("probe")
  expect(Date.now() - t0).toBeGreaterThanOrEqual(90)
})

test("a 429 to another call while the probe was out: the probe's ok does not open the gate", async () => {
  const gate = new FloodGate()
  gate.close(0.01)
  expect(await gate.enter(far(), [])).toBe("probe")
  gate.close(0.05) // a call already in flight got a 429 meanwhile
  gate.settle(false)
  expect(await gate.enter(far(), [])).toBe("probe")
})

test("a caller that cannot get through before its deadline is told so", async () => {
  const gate = new FloodGate()
  gate.close(5)
  expect(await gate.enter(Date.now() + 100, [])).toBe("late")
})
