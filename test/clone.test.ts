/**
 * A fresh clone works wherever it is put. As root, PostgreSQL runs as an unprivileged user, which
 * cannot reach a clone under a private folder (mode 0700, like /root): neither the binaries in
 * its node_modules nor its `.data/postgres`. Such a clone must still start its embedded
 * PostgreSQL: the binaries are staged into a cache that user can read (one complete copy, also
 * when several processes start at once), and the data goes to a folder it owns. As a normal user
 * the clone's own folders are used.
 *
 * The clone is this working tree as `git clone` would give it (tracked files, plus new ones not
 * yet committed) with `bun install --frozen-lockfile --offline` from Bun's cache.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test"
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { makeTempDir } from "@flatwatch/db/EmbeddedPostgres"
import postgres from "postgres"

// A copy of the tree, an install from the cache and an initdb: seconds, more on a loaded machine.
setDefaultTimeout(90_000)

const repo = resolve(import.meta.dir, "..")
const isRoot = process.getuid?.() === 0

const home = mkdtempSync(join(tmpdir(), "flatwatch-clone-")) // mode 0700, like /root
const cacheDir = makeTempDir("flatwatch-clone-cache-")
const stateDir = makeTempDir("flatwatch-clone-state-")
const pids: number[] = []

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGINT") // a postmaster's fast shutdown; the fixture has no handler
    } catch {}
  }
  for (const pid of pids) {
    for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(100)
    if (alive(pid)) process.kill(pid, "SIGKILL")
  }
  for (const dir of [home, cacheDir, stateDir]) rmSync(dir, { recursive: true, force: true })
})

const run = async (cmd: string[], cwd: string) => {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" })
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ])
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}: ${err || out}`)
  return out
}

/** The working tree as a clone has it: tracked files and new ones that are not git-ignored. */
const copyTree = async (to: string) => {
  const listed = await run(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    repo,
  )
  for (const path of listed.split("\0")) {
    if (path === "" || !existsSync(join(repo, path))) continue // deleted, not yet committed
    mkdirSync(dirname(join(to, path)), { recursive: true })
    copyFileSync(join(repo, path), join(to, path))
  }
}

const uidOf = (pid: number) =>
  Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1])

const clone = join(home, "fw")
let made: Promise<void> | undefined
const makeClone = () => {
  made ??= (async () => {
    await copyTree(clone)
    // From Bun's cache, which this checkout's own install filled; the network only if it did not.
    await run(["bun", "install", "--frozen-lockfile", "--offline"], clone).catch(() =>
      run(["bun", "install", "--frozen-lockfile"], clone),
    )
  })()
  return made
}

test(`three starts at once from a clone in a folder of mode 0700 share one complete copy of the binaries (${isRoot ? "as root" : "as a normal user"})`, async () => {
  await makeClone()
  const fixture = "libs/db/src/EmbeddedPostgresPaths.fixture.ts"
  const dirs = await Promise.all([1, 2, 3].map(() => run(["bun", fixture, cacheDir], clone)))
  expect(new Set(dirs).size).toBe(1)
  const dir = (dirs[0] ?? "").trim()
  if (isRoot) {
    expect(dir.startsWith(`${cacheDir}/embedded-postgres/`)).toBe(true)
    // Renamed into place whole: no half-made staging folder is left beside it.
    expect(readdirSync(join(cacheDir, "embedded-postgres"))).toEqual([basename(dir)])
    for (const file of ["bin/postgres", "bin/initdb", "lib/libicuuc.so.60", "share/postgresql"])
      expect(existsSync(join(dir, file))).toBe(true)
  } else {
    expect(dir.startsWith(`${clone}/node_modules/`)).toBe(true)
  }
})

test(`a clone in a folder of mode 0700 starts its embedded PostgreSQL (${isRoot ? "as root" : "as a normal user"})`, async () => {
  await makeClone()

  // The runner's default data folder, through the clone's own EmbeddedPostgres code.
  const holder = Bun.spawn(
    [
      "bun",
      "libs/db/src/EmbeddedPostgres.fixture.ts",
      join(clone, ".data/postgres"),
      cacheDir,
      stateDir,
    ],
    { cwd: clone, stdout: "pipe", stderr: "pipe" },
  )
  pids.push(holder.pid)
  // Its first line starting with "{" (log lines may come before it).
  let out = ""
  const reader = holder.stdout.getReader()
  while (!out.split("\n").some((l) => l.startsWith("{") && l.endsWith("}"))) {
    const { value, done } = await reader.read()
    if (done) {
      await holder.exited
      throw new Error(
        `the embedded PostgreSQL did not start: ${out}${await new Response(holder.stderr).text()}`,
      )
    }
    out += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const line = out.split("\n").find((l) => l.startsWith("{")) ?? ""
  const pg = JSON.parse(line) as {
    pid: number
    port: number
    dataDir: string
    binaries: string
  }
  pids.unshift(pg.pid) // stopped before its holder

  const sql = postgres(`postgres://postgres@127.0.0.1:${pg.port}/flatwatch`, { max: 1 })
  try {
    const [row] = await sql<
      { db: string; fsync: string }[]
    >`select current_database() as db, current_setting('fsync') as fsync`
    expect(row).toEqual({ db: "flatwatch", fsync: "on" })
  } finally {
    await sql.end()
  }

  if (isRoot) {
    // What the operator reads in the log: where the data went, and why.
    expect(out).toContain(
      `which cannot reach ${join(clone, ".data/postgres")} (${home} is mode 700)`,
    )
    expect(uidOf(pg.pid)).not.toBe(0)
    expect(pg.binaries.startsWith(`${cacheDir}/embedded-postgres/`)).toBe(true)
    expect(existsSync(join(pg.binaries, "bin", "postgres"))).toBe(true)
    expect(pg.dataDir.startsWith(`${stateDir}/postgres-`)).toBe(true)
  } else {
    expect(uidOf(pg.pid)).toBe(process.getuid?.() ?? -1)
    expect(pg.binaries.startsWith(`${clone}/node_modules/`)).toBe(true)
    expect(pg.dataDir).toBe(join(clone, ".data/postgres"))
  }
  expect(existsSync(join(pg.dataDir, "PG_VERSION"))).toBe(true)
})
