/**
 * What bot-wall recognition (`detectWall`) costs per page: it runs on every answer the Fetcher
 * gets and again in every page parser, so it must stay far below a page's parse time. Median of
 * many runs on each saved real page (../shared/fixtures; skipped when absent) and on the
 * project's hand-written wall pages, with what it found.
 * Run: bun bench/parser-walls.bench.ts
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { detectWall } from "@flatwatch/parser/BotWall"
import {
  packagePath,
  SHARED_FIXTURES_DIR,
  SHARED_FIXTURES_MISSING,
  sharedFixturesPresent,
} from "@flatwatch/parser/SharedFixtures"

const WARMUP = 50
const RUNS = 400

const medianMicros = (body: string): number => {
  for (let i = 0; i < WARMUP; i++) detectWall({ status: 200, body })
  const samples: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    detectWall({ status: 200, body })
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return (samples[Math.floor(RUNS / 2)] ?? 0) * 1000
}

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(join(dir, entry.name))
      : /\.(html|json)$/.test(entry.name)
        ? [join(dir, entry.name)]
        : [],
  )

const report = async (label: string, dir: string) => {
  console.log(label)
  for (const path of files(dir).sort()) {
    const body = await Bun.file(path).text()
    const wall = detectWall({ status: 200, body })
    console.log(
      `  ${path.slice(dir.length + 1).padEnd(46)} ${(body.length / 1024).toFixed(0).padStart(5)} KB ${medianMicros(body).toFixed(0).padStart(5)} µs  ${wall === null ? "no wall" : `${wall.vendor}: ${wall.reason}`}`,
    )
  }
}

if (sharedFixturesPresent) await report("saved real pages", SHARED_FIXTURES_DIR)
else console.log(SHARED_FIXTURES_MISSING)
await report("hand-written wall pages", packagePath("fixtures/walls"))
