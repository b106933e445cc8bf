/**
 * JSON sources: how long finding and decoding a page's embedded JSON takes (`JsonInPage.ts`), and
 * a whole page parsed by a JSON config (JSON found, cards read through paths, rules applied,
 * listings validated). Target: a 1 MB page's JSON found and decoded in under 10 ms. Reads the
 * real pages in ../shared/fixtures (skipped when absent).
 * Run: bun bench/parser-json.bench.ts
 */
import { parseBayutResponse } from "@flatwatch/parser/BayutSource"
import { htmlPageParser } from "@flatwatch/parser/HtmlSource"
import { loadHtmlSourceConfig } from "@flatwatch/parser/HtmlSourceConfig"
import { locateJson } from "@flatwatch/parser/JsonInPage"
import {
  packagePath,
  SHARED_FIXTURES_MISSING,
  sharedFixture,
  sharedFixturesPresent,
} from "@flatwatch/parser/SharedFixtures"
import { Effect } from "effect"

if (!sharedFixturesPresent) {
  console.log(SHARED_FIXTURES_MISSING)
  process.exit(0)
}

const WARMUP = 5
const RUNS = 30

/** Median ms of `run`. */
const time = async (run: () => unknown): Promise<number> => {
  for (let i = 0; i < WARMUP; i++) await run()
  const samples: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    await run()
    samples.push(performance.now() - started)
  }
  return [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0
}

const kb = (text: string) => `${Math.round(Buffer.byteLength(text) / 1024)} KB`
const row = (name: string, ms: number, note: string) =>
  console.log(`${name.padEnd(52)} ${ms.toFixed(2).padStart(7)} ms  ${note}`)

const pf = await sharedFixture("propertyfinder/search_buy_uae_page1.html")
const bayut = await sharedFixture("bayut/search_rent_dubai_page1.html")
const detail = await sharedFixture("bayut/detail_rent_studio.html")

row(
  `find + decode script#__NEXT_DATA__ (${kb(pf)} page)`,
  await time(() => locateJson(pf, { script: "script#__NEXT_DATA__" })),
  "Property Finder; target < 10 ms",
)
row(
  `find + decode window.state (${kb(bayut)} page)`,
  await time(() => locateJson(bayut, { assignment: "window.state" })),
  "Bayut search page; target < 10 ms",
)
row(
  `find + decode window.state (${kb(detail)} page)`,
  await time(() => locateJson(detail, { assignment: "window.state" })),
  "Bayut listing page",
)
// A page past 1 MB: the Property Finder page with its JSON repeated in a second, unread script.
const big = pf.replace(
  "</body>",
  `<script>var other = ${JSON.stringify(pf.slice(0, 600_000))};</script></body>`,
)
row(
  `find + decode script#__NEXT_DATA__ (${kb(big)} page)`,
  await time(() => locateJson(big, { script: "script#__NEXT_DATA__" })),
  "target < 10 ms",
)

const config = await Effect.runPromise(
  loadHtmlSourceConfig(packagePath("sources/propertyfinder.json")),
)
const parse = htmlPageParser(config)
const rent = pf.replaceAll('"period":"sell"', '"period":"yearly"')
row(
  "Property Finder page via its config (25 listings)",
  await time(() => Effect.runPromise(parse(rent))),
  "JSON + paths + rules + Schema",
)
row(
  "Bayut search page via parseBayutResponse (24)",
  await time(() => parseBayutResponse(bayut)),
  "window.state + Schema",
)
