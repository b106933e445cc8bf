import { Schema } from "effect"

/**
 * How a source loads its pages: `http` (plain requests, the default), `browser` (headless
 * Chromium: for sites that build their list with a script or stand behind a script challenge),
 * or `auto` (plain requests until the site blocks them, then the browser until a plain request
 * gets through again).
 */
export const FetchMode = Schema.Literal("http", "browser", "auto").annotations({
  message: () => ({ message: 'must be "http", "browser" or "auto"', override: true }),
})
export type FetchMode = typeof FetchMode.Type

/** What an `auto` source fetches with right now. */
export type FetchVia = "http" | "browser"

/** Whether a source in this mode may start Chromium. */
export const needsBrowser = (mode: FetchMode): boolean => mode !== "http"
