/**
 * Runner start-up, shutdown and idle memory, measured on `bun run apps/runner` as ops run it.
 * Targets (issue 2): ready < 3 s with external PostgreSQL, < 5 s with a warm embedded one; idle
 * exit < 2 s; idle memory < 300 MB in all.
 */
import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { makeTempDir } from "@flatwatch/db/EmbeddedPostgres"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FakeBotApi } from "@flatwatch/telegram/FakeBotApi"
import { Effect, Exit, Redacted, Scope } from "effect"
import { startRunner, stopAll } from "../test/support/runner.ts"

const TOKEN = "515151:bench-token"
const fake = await FakeBotApi.start({ tokens: [TOKEN] })
const scope = Effect.runSync(Scope.make())
const db = await Effect.runPromise(Scope.extend(TestDatabase.make, scope))
const temp = makeTempDir("flatwatch-bench-runner-")

const rssOf = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))
  return Number(line?.match(/\d+/)?.[0] ?? 0) * 1024
}
/** Proportional set size: shared pages count once in all, split among the processes sharing them. */
const pssOf = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Pss:"))
  return Number(line?.match(/\d+/)?.[0] ?? 0) * 1024
}
/**
 * The memory of the embedded PostgreSQL: the postmaster and its children (backends,
 * checkpointer, ...). Summing their RSS counts its shared buffers once per process that touched
 * them; the PSS sum counts them once, and is what the server costs the machine.
 */
const postgresMemory = (dataDir: string) => {
  const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
  const children = Bun.spawnSync(["pgrep", "-P", String(pid)])
    .stdout.toString()
    .split("\n")
    .filter(Boolean)
    .map(Number)
  const sum = (of: (pid: number) => number) =>
    [pid, ...children].reduce((total, p) => {
      try {
        return total + of(p)
      } catch {
        return total
      }
    }, 0)
  return { rss: sum(rssOf), pss: sum(pssOf), processes: children.length + 1 }
}

interface Sample {
  readyMs: number
  exitMs: number
  exitCode: number | null
  rss?: number
  pg?: { rss: number; pss: number; processes: number }
}

const once = async (
  env: Record<string, string | undefined>,
  measureMemory: boolean,
  dataDir?: string,
) => {
  const t0 = performance.now()
  const runner = startRunner({
    env: {
      BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: fake.apiRoot,
      LOG_LEVEL: "warning",
      BAYUT_ENABLED: "false",
      ...env,
    },
  })
  await runner.waitReady(60_000)
  const readyMs = performance.now() - t0
  const sample: Sample = { readyMs, exitMs: 0, exitCode: null }
  if (measureMemory) {
    await Bun.sleep(5_000) // idle: let start-up garbage be collected
    sample.rss = rssOf(runner.proc.pid)
    if (dataDir) sample.pg = postgresMemory(dataDir)
  }
  const { code, ms } = await runner.terminate("SIGTERM")
  sample.exitMs = ms
  sample.exitCode = code
  return sample
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const median = s[Math.floor(s.length / 2)] ?? 0
  return `median ${median.toFixed(0)} ms (min ${(s[0] ?? 0).toFixed(0)}, max ${(s.at(-1) ?? 0).toFixed(0)}, n=${s.length})`
}
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`

try {
  const external: Sample[] = []
  for (let i = 0; i < 5; i++)
    external.push(await once({ DATABASE_URL: Redacted.value(db.url) }, i === 0))
  const first: Sample[] = []
  const warm: Sample[] = []
  const dataDir = join(temp, "pg-0")
  for (let i = 0; i < 3; i++) {
    first.push(
      await once(
        { DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: join(temp, `pg-first-${i}`) },
        false,
      ),
    )
  }
  await once({ DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: dataDir }, false) // initialise
  for (let i = 0; i < 5; i++) {
    warm.push(
      await once({ DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: dataDir }, i === 0, dataDir),
    )
  }

  console.log("runner start-up to /readyz 200 (three components):")
  console.log(
    `  external PostgreSQL:           ${stats(external.map((s) => s.readyMs))}   target < 3000 ms`,
  )
  console.log(`  embedded, first start (initdb): ${stats(first.map((s) => s.readyMs))}`)
  console.log(
    `  embedded, warm start:          ${stats(warm.map((s) => s.readyMs))}   target < 5000 ms`,
  )
  console.log("SIGTERM to exit (idle):")
  console.log(
    `  external PostgreSQL:           ${stats(external.map((s) => s.exitMs))}   target < 2000 ms`,
  )
  console.log(
    `  embedded (incl. its stop):     ${stats(warm.map((s) => s.exitMs))}   target < 2000 ms`,
  )
  console.log(`  exit codes: ${[...external, ...first, ...warm].map((s) => s.exitCode).join(",")}`)
  const idle = external[0]?.rss ?? 0
  const idleEmbedded = warm[0]?.rss ?? 0
  console.log("idle resident memory (5 s after ready):")
  console.log(`  runner + 3 workers, external PostgreSQL: ${mb(idle)}   target < 300 MB`)
  const pg = warm[0]?.pg ?? { rss: 0, pss: 0, processes: 0 }
  console.log(`  runner + 3 workers, embedded PostgreSQL: ${mb(idleEmbedded)}   target < 300 MB`)
  console.log(
    `  + the embedded PostgreSQL (${pg.processes} processes): PSS ${mb(pg.pss)} (RSS summed ${mb(pg.rss)}, shared buffers counted once per process) = ${mb(idleEmbedded + pg.pss)} in all`,
  )
} finally {
  await stopAll()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await fake.stop()
  rmSync(temp, { recursive: true, force: true })
}
