import { accessSync, constants, statSync } from "node:fs"
import { Either } from "effect"

/** Executable names looked up on PATH, in this order, when `CHROMIUM_PATH` is not set. */
export const CHROMIUM_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome-stable",
  "google-chrome",
] as const

/** How to get Chromium, for error messages and the README. */
export const CHROMIUM_INSTALL_HINT =
  "install Chromium from the system's packages (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to its executable"

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/**
 * The Chromium executable to drive: `explicit` (the value of `CHROMIUM_PATH`) when given, which
 * must be an executable file; else the first of `CHROMIUM_NAMES` on PATH. Nothing is downloaded:
 * a machine without Chromium gets a `Left` saying what was looked for and how to install it.
 */
export const findChromium = (explicit: string | undefined): Either.Either<string, string> => {
  if (explicit !== undefined && explicit.trim() !== "") {
    return isExecutable(explicit)
      ? Either.right(explicit)
      : Either.left(`CHROMIUM_PATH=${explicit} is not an executable file; ${CHROMIUM_INSTALL_HINT}`)
  }
  for (const name of CHROMIUM_NAMES) {
    const found = Bun.which(name)
    if (found !== null) return Either.right(found)
  }
  return Either.left(
    `Chromium was not found on PATH (${CHROMIUM_NAMES.join(", ")}) and CHROMIUM_PATH is not set; ${CHROMIUM_INSTALL_HINT}`,
  )
}
