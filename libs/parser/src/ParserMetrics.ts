import { Metric } from "effect"

const pages = Metric.counter("parser_pages_total", {
  description: "Pages fetched and parsed",
  incremental: true,
})
const found = Metric.counter("parser_listings_found_total", {
  description: "Valid listings read from pages (new and known)",
  incremental: true,
})
const created = Metric.counter("parser_listings_new_total", {
  description: "Listings stored for the first time",
  incremental: true,
})
const invalid = Metric.counter("parser_listings_invalid_total", {
  description: "Cards or hits that failed validation",
  incremental: true,
})
const priceChanges = Metric.counter("parser_price_changes_total", {
  description: "Known listings whose price changed",
  incremental: true,
})
const queued = Metric.counter("parser_deliveries_queued_total", {
  description: "Alerts queued in the outbox by matching",
  incremental: true,
})
const runs = Metric.counter("parser_runs_total", {
  description: "Source runs by outcome",
  incremental: true,
})
const requests = Metric.counter("parser_http_requests_total", {
  description:
    "HTTP requests to sources by result (ok, blocked, status, network, timeout, toolarge)",
  incremental: true,
})
const retries = Metric.counter("parser_fetch_retries_total", {
  description: "HTTP retries after network errors, 5xx or 429",
  incremental: true,
})
const status = Metric.gauge("parser_source_status", {
  description: "Source status: 0 ok, 1 degraded, 2 blocked",
})
const lastRunMs = Metric.gauge("parser_run_duration_ms", {
  description: "Duration of the last run of the source, in milliseconds",
})

const watchChecked = Metric.counter("parser_price_watch_checked_total", {
  description: "Listings the price watch asked the source about and got an answer for",
  incremental: true,
})
const watchChanged = Metric.counter("parser_price_watch_changed_total", {
  description: "Listings whose price the price watch found changed",
  incremental: true,
})
const watchMissing = Metric.counter("parser_price_watch_missing_total", {
  description: "Watched listings the source no longer has (rented or removed)",
  incremental: true,
})
const watchRuns = Metric.counter("parser_price_watch_runs_total", {
  description: "Price watch runs by outcome",
  incremental: true,
})

const browserPages = Metric.counter("parser_browser_pages_total", {
  description:
    "Pages loaded in headless Chromium by result (ok, unrendered, timeout, network, toolarge)",
  incremental: true,
})
const fetchSwitches = Metric.counter("parser_fetch_switches_total", {
  description: "fetch: auto switches between plain HTTP and the browser, by what it switched to",
  incremental: true,
})
const fetchVia = Metric.gauge("parser_fetch_via", {
  description: "What a fetch: auto source fetches with now: 0 plain HTTP, 1 the browser",
})

/** Status codes for the `parser_source_status` gauge. */
export const STATUS_CODE = { ok: 0, degraded: 1, blocked: 2 } as const

/** The parser's counters, tagged by source (and outcome or kind), for the component heartbeat. */
export const ParserMetrics = {
  pages: (source: string) => pages.pipe(Metric.tagged("source", source)),
  found: (source: string) => found.pipe(Metric.tagged("source", source)),
  created: (source: string) => created.pipe(Metric.tagged("source", source)),
  invalid: (source: string) => invalid.pipe(Metric.tagged("source", source)),
  priceChanges: (source: string) => priceChanges.pipe(Metric.tagged("source", source)),
  queued: (source: string, kind: "listing" | "price_drop") =>
    queued.pipe(Metric.tagged("source", source), Metric.tagged("kind", kind)),
  runs: (source: string, outcome: string) =>
    runs.pipe(Metric.tagged("source", source), Metric.tagged("outcome", outcome)),
  requests: (source: string, result: string) =>
    requests.pipe(Metric.tagged("source", source), Metric.tagged("result", result)),
  fetchRetries: (source: string) => retries.pipe(Metric.tagged("source", source)),
  status: (source: string) => status.pipe(Metric.tagged("source", source)),
  lastRunMs: (source: string) => lastRunMs.pipe(Metric.tagged("source", source)),
  watchChecked: (source: string) => watchChecked.pipe(Metric.tagged("source", source)),
  watchChanged: (source: string) => watchChanged.pipe(Metric.tagged("source", source)),
  watchMissing: (source: string) => watchMissing.pipe(Metric.tagged("source", source)),
  browserPages: (source: string, result: string) =>
    browserPages.pipe(Metric.tagged("source", source), Metric.tagged("result", result)),
  fetchSwitches: (source: string, to: "http" | "browser") =>
    fetchSwitches.pipe(Metric.tagged("source", source), Metric.tagged("to", to)),
  fetchVia: (source: string) => fetchVia.pipe(Metric.tagged("source", source)),
  watchRuns: (source: string, outcome: string) =>
    watchRuns.pipe(Metric.tagged("source", source), Metric.tagged("outcome", outcome)),
} as const
