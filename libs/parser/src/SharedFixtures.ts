import { existsSync } from "node:fs"
import { join, resolve } from "node:path"

/**
 * For tests: the real captured pages live outside the project, in `../shared/fixtures` seen from
 * the repository root (there on every development machine and in CI), and are never copied in.
 * The contract tests need them: without the folder they fail, naming the missing file.
 */
export const SHARED_FIXTURES_DIR = resolve(import.meta.dir, "../../..", "../shared/fixtures")

export const sharedFixturesPresent = existsSync(SHARED_FIXTURES_DIR)

export const SHARED_FIXTURES_MISSING = `shared fixtures not found at ${SHARED_FIXTURES_DIR}: benchmarks on real pages cannot run`

/** The text of a shared fixture, e.g. `avito/page_announcements_paginate_3.html`. */
export const sharedFixture = (path: string): Promise<string> =>
  Bun.file(join(SHARED_FIXTURES_DIR, path)).text()

/** The text of one of the parser's own hand-written fixtures (`libs/parser/fixtures`). */
export const ownFixture = (path: string): Promise<string> =>
  Bun.file(resolve(import.meta.dir, "../fixtures", path)).text()

/** The path of a file in the parser package (`sources/domria.json`, `fixtures/...`). */
export const packagePath = (path: string): string => resolve(import.meta.dir, "..", path)
