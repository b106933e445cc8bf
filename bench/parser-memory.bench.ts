/**
 * Memory after parsing the Avito search page 1,000 times with the production path (cut down,
 * parsed in the one happy-dom window kept between pages, retired after 500 pages). Target: flat
 * (< 50 MB growth).
 * Reads ../shared/fixtures (skipped when absent).
 * Run: bun bench/parser-memory.bench.ts
 */
import { parseAvitoPage } from "@flatwatch/parser/AvitoSource"
import {
  SHARED_FIXTURES_MISSING,
  sharedFixture,
  sharedFixturesPresent,
} from "@flatwatch/parser/SharedFixtures"
import { Effect } from "effect"

if (!sharedFixturesPresent) {
  console.log(SHARED_FIXTURES_MISSING)
  process.exit(0)
}

const PAGES = 1_000
const html = await sharedFixture("avito/page_announcements_paginate_3.html")
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
const settle = async () => {
  Bun.gc(true)
  await Bun.sleep(50)
  Bun.gc(true)
}

// Warm up first: JIT code, happy-dom's module state and lazily built tables are not growth.
for (let i = 0; i < 20; i++) await Effect.runPromise(parseAvitoPage(html, { market: "bench" }))
await settle()
const before = process.memoryUsage()
const started = performance.now()
let listings = 0
const rssGrowth: Array<number> = []
for (let i = 1; i <= PAGES; i++) {
  const result = await Effect.runPromise(parseAvitoPage(html, { market: "bench" }))
  if (result._tag === "Listings") listings += result.listings.length
  if (i % 250 === 0) {
    await settle()
    const now = process.memoryUsage()
    rssGrowth.push(now.rss - before.rss)
    console.log(
      `after ${i} pages: rss ${mb(now.rss)} MB (+${mb(now.rss - before.rss)}), heap used ${mb(now.heapUsed)} MB (+${mb(now.heapUsed - before.heapUsed)})`,
    )
  }
}
await settle()
const after = process.memoryUsage()
console.log(
  `${PAGES} Avito pages (${listings} listings) in ${((performance.now() - started) / 1000).toFixed(1)} s: heap used ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB; rss ${mb(before.rss)} -> ${mb(after.rss)} MB (growth ${mb(after.rss - before.rss)} MB, largest at a checkpoint ${mb(Math.max(...rssGrowth))} MB; target < 50 MB)`,
)
// RSS also holds the allocator's free pages (it goes up and down between checkpoints); the
// JS heap after a full GC is what a leak (an unclosed window) would grow.
