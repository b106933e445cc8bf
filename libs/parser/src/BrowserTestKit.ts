import { describe, test } from "bun:test"
import { Either } from "effect"
import { findChromium } from "./Chromium.ts"
import { chromiumsOf, killChromium } from "./ChromiumProcess.ts"

/**
 * For tests in a real Chromium. The machine's Chromium (`CHROMIUM_PATH`, else PATH), or why
 * there is none. Without one, the browser tests are reported as skipped with one warning for the
 * run; under `CI=true` (where `.ci/run` installs Chromium) they fail instead.
 */
export const chromiumForTests: Either.Either<string, string> = findChromium(
  process.env.CHROMIUM_PATH,
)

const inCi = (): boolean => {
  const ci = process.env.CI
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"
}

let warned = false

/**
 * `describe` for tests that start Chromium: runs them when it is there; otherwise skips them
 * (warning once per run, saying why), or, under `CI=true`, registers one failing test.
 */
export const describeBrowser = (name: string, body: (chromium: string) => void): void => {
  if (Either.isRight(chromiumForTests)) {
    const chromium = chromiumForTests.right
    describe(name, () => body(chromium))
    return
  }
  const why = chromiumForTests.left
  if (inCi()) {
    describe(name, () => {
      test("Chromium is installed (required under CI=true; .ci/run installs it)", () => {
        throw new Error(why)
      })
    })
    return
  }
  if (!warned) {
    warned = true
    console.warn(`[browser tests] skipped: ${why}. Under CI=true they fail instead.`)
  }
  describe.skipIf(true)(name, () => body(""))
}

/** Kills every Chromium this test process started for `owner` (call from `afterAll`). */
export const killChromiumsOf = (owner: string): void => {
  for (const pid of chromiumsOf(owner)) killChromium(pid)
}
