import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"
import postgres from "postgres"
import { EmbeddedPostgresError, makeTempDir, start } from "./EmbeddedPostgres.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const root = makeTempDir("flatwatch-embedded-")
const spawned: number[] = []
afterAll(() => {
  for (const pid of spawned) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {}
  }
  rmSync(root, { recursive: true, force: true })
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const quiet = Logger.withMinimumLogLevel(LogLevel.Error)

test("starts in a fresh folder, accepts connections, stops when its scope closes", async () => {
  const dataDir = join(root, "fresh")
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(start({ dataDir }).pipe(Scope.extend(scope), quiet))
  spawned.push(pg.pid)
  expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(true)

  const sql = postgres(Redacted.value(pg.url), { max: 1 })
  const [row] = await sql<
    { db: string; fsync: string }[]
  >`select current_database() as db, current_setting('fsync') as fsync`
  await sql.end()
  expect(row).toEqual({ db: "flatwatch", fsync: "on" })

  await Effect.runPromise(Scope.close(scope, Exit.void))
  expect(alive(pg.pid)).toBe(false)

  // A warm start reuses the cluster and the database.
  const again = await Effect.runPromise(
    Effect.scoped(Effect.map(start({ dataDir }), (p) => p.port)).pipe(quiet),
  )
  expect(again).toBeGreaterThan(0)
})

test("a postmaster left by a SIGKILLed run is stopped on the next start", async () => {
  const dataDir = join(root, "stale")
  const holder = Bun.spawn(["bun", join(import.meta.dir, "EmbeddedPostgres.fixture.ts"), dataDir], {
    stdout: "pipe",
    stderr: "inherit",
  })
  spawned.push(holder.pid)
  const reader = holder.stdout.getReader()
  const { value } = await reader.read()
  const first = JSON.parse(new TextDecoder().decode(value)) as { pid: number; port: number }
  spawned.push(first.pid)
  holder.kill("SIGKILL")
  await holder.exited
  expect(alive(first.pid)).toBe(true) // the orphaned postmaster is still running

  const second = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const pg = yield* start({ dataDir })
        const sql = postgres(Redacted.value(pg.url), { max: 1 })
        const [row] = yield* Effect.promise(() => sql<{ ok: number }[]>`select 1 as ok`)
        yield* Effect.promise(() => sql.end())
        return { pid: pg.pid, ok: row?.ok }
      }),
    ).pipe(quiet),
  )
  expect(alive(first.pid)).toBe(false)
  expect(second.ok).toBe(1)
  expect(second.pid).not.toBe(first.pid)
})

// Only root runs PostgreSQL as another user, so only root can meet a cluster that user cannot
// reach (test/clone.test.ts covers the start from a private folder, as root and as a normal user).
if (process.getuid?.() === 0) {
  test("as root, a cluster in a private folder fails start-up with one line saying what to change", async () => {
    const hidden = mkdtempSync(join(tmpdir(), "flatwatch-private-")) // mode 0700, like /root
    try {
      const dataDir = join(hidden, "postgres")
      mkdirSync(dataDir)
      writeFileSync(join(dataDir, "PG_VERSION"), "18\n") // a cluster from before
      const pgUser = /^postgres:/m.test(readFileSync("/etc/passwd", "utf8")) ? "postgres" : "nobody"
      const error = await Effect.runPromise(
        Effect.flip(Effect.scoped(start({ dataDir, stateDir: join(root, "state") }))).pipe(quiet),
      )
      expect(error).toBeInstanceOf(EmbeddedPostgresError)
      expect(error.reason).toBe("DataDir")
      expect(error.message).toBe(
        `PostgreSQL runs as user ${pgUser}, which cannot reach the cluster in ${dataDir} (${hidden} is mode 700): make that folder traversable (chmod o+x) or move the cluster to a folder it can reach and set EMBEDDED_POSTGRES_DIR to it`,
      )
      expect(existsSync(join(root, "state"))).toBe(false) // nothing started, nothing moved
    } finally {
      rmSync(hidden, { recursive: true, force: true })
    }
  })
}
