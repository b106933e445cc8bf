/**
 * `bun run bench`: runs every `bench/*.bench.ts` as its own process, one after another, and
 * prints what each prints. Benchmarks print figures; they assert nothing. Without
 * TEST_DATABASE_URL an embedded PostgreSQL is started for the run.
 */
import { readdirSync, rmSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { makeTempDir, start } from "@flatwatch/db/EmbeddedPostgres"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"

const only = process.argv.slice(2)
const files = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

const scope = Effect.runSync(Scope.make())
let tempDir: string | undefined
const env: Record<string, string | undefined> = { ...process.env }
if (!env.TEST_DATABASE_URL) {
  tempDir = makeTempDir("flatwatch-bench-pg-")
  const pg = await Effect.runPromise(
    start({ dataDir: join(tempDir, "data"), database: "postgres" }).pipe(
      Scope.extend(scope),
      Logger.withMinimumLogLevel(LogLevel.Warning),
    ),
  )
  env.TEST_DATABASE_URL = Redacted.value(pg.adminUrl)
}

const cpu = cpus()[0]?.model ?? "unknown CPU"
console.log(
  `Flatwatch benchmarks — ${new Date().toISOString()} — Bun ${Bun.version}, ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}-${process.arch}`,
)
let failed = 0
for (const file of files) {
  console.log(`\n=== ${file} ===`)
  const proc = Bun.spawn(["bun", join(import.meta.dir, file)], {
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
  const code = await proc.exited
  if (code !== 0) {
    failed += 1
    console.log(`(${file} exited with ${code})`)
  }
}
await Effect.runPromise(Scope.close(scope, Exit.void))
if (tempDir) rmSync(tempDir, { recursive: true, force: true })
process.exit(failed === 0 ? 0 : 1)
