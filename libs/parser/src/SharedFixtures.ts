import { describe, test } from "bun:test"
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"

/**
 * For tests: the real captured pages live outside the project, in `../shared/fixtures` seen from
 * the repository root (there on development machines and in CI), and are never copied in.
 *
 * A fresh clone elsewhere has no such folder. Contract tests on the real pages are then reported
 * as skipped, with one warning for the whole run saying why; under `CI=true` a missing folder
 * fails the run instead, since there a skipped contract would hide a broken adapter.
 */
export const SHARED_FIXTURES_DIR = resolve(import.meta.dir, "../../..", "../shared/fixtures")

/** `../shared/reference` (the Dubai district groups). */
export const SHARED_REFERENCE_DIR = resolve(SHARED_FIXTURES_DIR, "../reference")

export const sharedFixturesPresent = existsSync(SHARED_FIXTURES_DIR)

export const SHARED_FIXTURES_MISSING = `shared fixtures not found at ${SHARED_FIXTURES_DIR}: benchmarks on real pages cannot run`

const inCi = (): boolean => {
  const ci = process.env.CI
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"
}

let warned = false
const warnOnce = (): void => {
  if (warned) return
  warned = true
  console.warn(
    `[shared fixtures] ${SHARED_FIXTURES_DIR} is missing: the contract tests on the saved real pages are skipped (a fresh clone without ../shared beside it). Under CI=true they fail instead.`,
  )
}

/**
 * `describe` for tests that read `../shared`: runs them when the folder is there; otherwise
 * skips them (warning once per run), or, under `CI=true`, registers one failing test naming the
 * missing folder.
 */
export const describeShared = (name: string, body: () => void | Promise<void>): void => {
  if (sharedFixturesPresent) {
    describe(name, body)
    return
  }
  if (inCi()) {
    describe(name, () => {
      test("../shared/fixtures is present (required under CI=true)", () => {
        throw new Error(
          `${SHARED_FIXTURES_DIR} is missing; CI must run with ../shared beside the clone`,
        )
      })
    })
    return
  }
  warnOnce()
  describe.skipIf(true)(name, body)
}

/** The text of a shared fixture, e.g. `avito/page_announcements_paginate_3.html`. */
export const sharedFixture = (path: string): Promise<string> =>
  Bun.file(join(SHARED_FIXTURES_DIR, path)).text()

/** The text of one of the parser's own hand-written fixtures (`libs/parser/fixtures`). */
export const ownFixture = (path: string): Promise<string> =>
  Bun.file(resolve(import.meta.dir, "../fixtures", path)).text()

/** The path of a file in the parser package (`sources/domria.json`, `fixtures/...`). */
export const packagePath = (path: string): string => resolve(import.meta.dir, "..", path)
