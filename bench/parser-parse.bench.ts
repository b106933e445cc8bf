/**
 * Parse time per page for each adapter (HTMLRewriter cut-down + happy-dom, parse once), against
 * linkedom on the same pages extracting the same fields, and happy-dom used naively (the whole
 * page, scripts stripped by a regular expression) for context. Reads the real pages in
 * ../shared/fixtures (skipped when absent). Target: the happy-dom path within 2x of linkedom on
 * the Avito page. Peer reference (DESIGN.md): Fredy (cheerio) ~34 ms on a Kleinanzeigen page.
 * Run: bun bench/parser-parse.bench.ts
 */
import { parseAvitoPage } from "@flatwatch/parser/AvitoSource"
import { parseBayutResponse } from "@flatwatch/parser/BayutSource"
import { htmlPageParser } from "@flatwatch/parser/HtmlSource"
import { type Extractor, loadHtmlSourceConfig } from "@flatwatch/parser/HtmlSourceConfig"
import {
  packagePath,
  SHARED_FIXTURES_MISSING,
  sharedFixture,
  sharedFixturesPresent,
} from "@flatwatch/parser/SharedFixtures"
import { Effect } from "effect"
import { Window } from "happy-dom"
import { parseHTML } from "linkedom"

if (!sharedFixturesPresent) {
  console.log(SHARED_FIXTURES_MISSING)
  process.exit(0)
}

const WARMUP = 5
const RUNS = 30

/**
 * Median ms of each function; runs are interleaved (a, b, c, a, b, c, ...) so that a change in
 * machine load hits every contender alike.
 */
const time = async (...runs: ReadonlyArray<() => unknown>): Promise<Array<number>> => {
  for (let i = 0; i < WARMUP; i++) for (const run of runs) await run()
  const samples = runs.map(() => [] as Array<number>)
  for (let i = 0; i < RUNS; i++) {
    for (const [k, run] of runs.entries()) {
      const started = performance.now()
      await run()
      samples[k]?.push(performance.now() - started)
    }
  }
  return samples.map((xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0)
}

interface Extraction {
  readonly list: string
  readonly card: string
  /** selector (or "" for the card) and attribute (or null for text) of each field. */
  readonly fields: ReadonlyArray<readonly [string, string | null]>
}

/** Reads every card's fields from a parsed document, the same way for both DOMs. */
const extract = (
  document: { querySelectorAll: (s: string) => Iterable<unknown> },
  x: Extraction,
) => {
  let values = 0
  for (const list of document.querySelectorAll(x.list) as Iterable<{
    querySelectorAll: (s: string) => Iterable<unknown>
  }>) {
    for (const card of list.querySelectorAll(x.card) as Iterable<{
      querySelector: (
        s: string,
      ) => { textContent: string | null; getAttribute: (a: string) => string | null } | null
      textContent: string | null
      getAttribute: (a: string) => string | null
    }>) {
      for (const [selector, attr] of x.fields) {
        const el = selector === "" ? card : card.querySelector(selector)
        const value = el === null ? null : attr === null ? el.textContent : el.getAttribute(attr)
        if (value !== null) values++
      }
    }
  }
  return values
}

const linkedom = (html: string, x: Extraction) => extract(parseHTML(html).document as never, x)

const naiveHappyDom = async (html: string, x: Extraction) => {
  const window = new Window({
    settings: {
      disableJavaScriptEvaluation: true,
      disableCSSFileLoading: true,
      disableJavaScriptFileLoading: true,
    },
  })
  try {
    window.document.write(
      html.replace(/<script\b[\s\S]*?<\/script>/gi, "").replace(/<style\b[\s\S]*?<\/style>/gi, ""),
    )
    return extract(window.document as never, x)
  } finally {
    await window.happyDOM.close()
  }
}

const AVITO: Extraction = {
  list: '[data-marker="catalog-serp"]',
  card: '[data-marker="item"]',
  fields: [
    ["", "data-item-id"],
    ['[data-marker="item-title"]', "href"],
    ['[data-marker="item-title"]', null],
    ['[data-marker="item-price"]', null],
    ['meta[itemprop="price"]', "content"],
    ['meta[itemprop="priceCurrency"]', "content"],
    ['meta[itemprop="description"]', "content"],
    ["img", "srcset"],
    ['[data-marker="item-address"]', null],
    ['[data-marker="item-date"]', null],
  ],
}

const fromConfig = async (path: string) => {
  const config = await Effect.runPromise(loadHtmlSourceConfig(packagePath(path)))
  const fields = Object.values(config.fields).flatMap((spec) => {
    if (spec === undefined) return []
    const f = Array.isArray(spec) ? spec[0] : (spec as Extractor)
    return [
      [f.selector ?? "", typeof f.attr === "string" ? f.attr : (f.attr?.[0] ?? null)] as const,
    ]
  })
  return {
    config,
    extraction: {
      list: config.list ?? "body",
      card: config.card ?? "*",
      fields,
    } satisfies Extraction,
  }
}

const row = (name: string, ours: number, base: number, naive: number) =>
  console.log(
    `${name.padEnd(34)} flatwatch ${ours.toFixed(1).padStart(6)} ms | linkedom ${base.toFixed(1).padStart(6)} ms | ratio ${(ours / base).toFixed(2)}x | naive happy-dom ${naive.toFixed(1).padStart(6)} ms`,
  )

const avitoPages = [
  ["avito search (2.8 MB, 50 cards)", "avito/page_announcements_paginate_3.html"],
  ["avito nothing-found (3.6 MB)", "avito/page_announcements_paginate_void.html"],
  ["avito block page (43 KB)", "avito/page_many_request_0.html"],
] as const
for (const [name, file] of avitoPages) {
  const html = await sharedFixture(file)
  const [ours = 0, base = 0, naive = 0] = await time(
    () => Effect.runPromise(parseAvitoPage(html, { market: "bench" })),
    () => linkedom(html, AVITO),
    () => naiveHappyDom(html, AVITO),
  )
  row(name, ours, base, naive)
}

for (const [name, config, file] of [
  ["DOM.RIA via config (448 KB, 20 cards)", "sources/domria.json", "domria/serp_page.html"],
  [
    "Kleinanzeigen via config (251 KB, 27)",
    "sources/kleinanzeigen.json",
    "kleinanzeigen/serp_page.html",
  ],
] as const) {
  const html = await sharedFixture(file)
  const { config: c, extraction } = await fromConfig(config)
  const parse = htmlPageParser(c)
  const [ours = 0, base = 0, naive = 0] = await time(
    () => Effect.runPromise(parse(html)),
    () => linkedom(html, extraction),
    () => naiveHappyDom(html, extraction),
  )
  row(name, ours, base, naive)
}

const bayut = await sharedFixture("bayut/rent_hits_a.algolia.json")
const [bayutMs = 0] = await time(() => parseBayutResponse(bayut))
console.log(
  `${"bayut Algolia JSON (190 KB, 25 hits)".padEnd(34)} flatwatch ${bayutMs.toFixed(1).padStart(6)} ms (JSON + Schema; no DOM)`,
)
