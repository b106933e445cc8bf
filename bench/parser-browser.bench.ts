/**
 * What `fetch: browser` costs: 20 result pages of the local fixture site (25 cards each, built by
 * a script) loaded one after another in headless Chromium and parsed by an `html` source's parser,
 * against the same 20 pages as plain HTML over plain HTTP. Prints pages per second (with and
 * without Chromium's start) and Chromium's memory: resident and proportional (PSS) set sizes
 * summed over all its processes, with the browser still open after the 20 pages.
 * Needs Chromium (CHROMIUM_PATH or PATH); says so and exits 0 without it.
 * Run: bun bench/parser-browser.bench.ts
 */
import { readdirSync, readFileSync } from "node:fs"
import { Browser } from "@flatwatch/parser/Browser"
import { BrowserSessionStore } from "@flatwatch/parser/BrowserSession"
import { findChromium } from "@flatwatch/parser/Chromium"
import { defaultFetchOptions, Fetcher, type FetchOptions } from "@flatwatch/parser/Fetcher"
import { FixtureSite } from "@flatwatch/parser/FixtureSite"
import { renderSpecOfConfig } from "@flatwatch/parser/HtmlListCrawl"
import { htmlPageParser } from "@flatwatch/parser/HtmlSource"
import { parseHtmlSourceConfig } from "@flatwatch/parser/HtmlSourceConfig"
import { Duration, Effect, Either, Layer, Logger, LogLevel, Option } from "effect"

const chromium = findChromium(process.env.CHROMIUM_PATH)
if (Either.isLeft(chromium)) {
  console.log(`skipped: ${chromium.left}`)
  process.exit(0)
}

const PAGES = 20
const CARDS = 25
const cards = (page: number) =>
  Array.from({ length: CARDS }, (_, i) => {
    const id = page * 100 + i
    return `<li class="card" data-id="f${id}"><a href="/flat/${id}">Flat ${id}, 2 rooms</a><span class="price">${1000 + id} €</span><img src="/img/${id}.jpg"></li>`
  }).join("")
const shell = (body: string) =>
  `<!doctype html><html><head><title>Flats</title><style>li{margin:4px}</style></head><body><header>Flats for rent</header>${body}<footer>© bench</footer></body></html>`

const site = FixtureSite.start().otherwise((request) => {
  const match = /^\/(scripted|static)\/(\d+)/.exec(request.path)
  if (match === null) return { status: 404, body: "" }
  const page = Number(match[2])
  return match[1] === "static"
    ? { body: shell(`<ul id="results">${cards(page)}</ul>`) }
    : {
        body: shell(
          `<ul id="results"></ul><script>document.getElementById("results").innerHTML = ${JSON.stringify(cards(page))}</script>`,
        ),
      }
})

const config = Either.getOrThrow(
  parseHtmlSourceConfig(
    {
      id: "bench",
      market: "bench",
      currency: "EUR",
      urls: [`${site.url}/scripted/1`],
      list: "#results",
      card: "li.card",
      fields: {
        id: { attr: "data-id" },
        url: { selector: "a", attr: "href", type: "url" },
        title: { selector: "a" },
        price: { selector: ".price", type: "number" },
      },
    },
    "bench.json",
  ),
)
const parse = htmlPageParser(config)
const options = (mode: "http" | "browser"): FetchOptions => ({
  ...defaultFetchOptions("bench"),
  mode,
  render: renderSpecOfConfig(config),
  politeness: Duration.zero,
  retries: 0,
})

/** The pids of a process and all its descendants (Linux `/proc`). */
const tree = (root: number): Array<number> => {
  const children = new Map<number, Array<number>>()
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {
      // gone meanwhile
    }
  }
  const out: Array<number> = []
  const walk = (pid: number) => {
    out.push(pid)
    for (const child of children.get(pid) ?? []) walk(child)
  }
  walk(root)
  return out
}
const kb = (pid: number, file: string, field: string) => {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, "utf8")
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0)
  } catch {
    return 0
  }
}
const mb = (k: number) => (k / 1024).toFixed(0)

const run = (mode: "http" | "browser") =>
  Effect.gen(function* () {
    const fetcher = yield* Fetcher
    const path = mode === "http" ? "static" : "scripted"
    let listings = 0
    const started = performance.now()
    let afterFirst = started
    for (let page = 1; page <= PAGES; page++) {
      const { page: result } = yield* fetcher.fetchPage(
        { url: `${site.url}/${path}/${page}` },
        options(mode),
        (response) => parse(response.body, response.url),
        () => false,
      )
      if (result._tag === "Listings") listings += result.listings.length
      if (page === 1) afterFirst = performance.now()
    }
    const ended = performance.now()
    const total = (ended - started) / 1000
    const rest = (ended - afterFirst) / 1000
    console.log(
      `${mode.padEnd(7)}: ${PAGES} pages, ${listings} listings in ${total.toFixed(2)} s: ${(PAGES / total).toFixed(1)} pages/s; pages 2-${PAGES}: ${((PAGES - 1) / rest).toFixed(1)} pages/s (first page ${((afterFirst - started) / 1000).toFixed(2)} s${mode === "browser" ? ", Chromium's start included" : ""})`,
    )
    if (mode === "browser") {
      const pid = Option.getOrThrow(yield* Effect.flatMap(Browser, (b) => b.pid))
      const pids = tree(pid)
      const rss = pids.reduce((sum, p) => sum + kb(p, "status", "VmRSS"), 0)
      const pss = pids.reduce((sum, p) => sum + kb(p, "smaps_rollup", "Pss"), 0)
      console.log(
        `Chromium after ${PAGES} pages (still open): ${pids.length} processes, RSS ${mb(rss)} MB summed (shared pages counted in each), PSS ${mb(pss)} MB`,
      )
    }
  })

const layer = Fetcher.Default.pipe(
  Layer.provideMerge(
    Browser.layer({
      executablePath: chromium.right,
      idleClose: Duration.minutes(5),
      concurrency: 1,
      owner: `bench-${process.pid}`,
    }),
  ),
  Layer.provide(BrowserSessionStore.layerMemory),
)
try {
  await Effect.runPromise(
    Effect.all([run("http"), run("browser")], { discard: true }).pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Warning),
    ),
  )
} finally {
  site.stop()
}
