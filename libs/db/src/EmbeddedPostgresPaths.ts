/**
 * Where the embedded PostgreSQL's binaries and data live. PostgreSQL refuses to run as root, so a
 * root process runs it as an unprivileged user, and that user must reach both: every folder on
 * the way must be traversable by it. A clone under a private folder (mode 0700, like /root) is
 * out of its reach, so the binaries are staged into a cache it can read and a new cluster goes to
 * a folder it owns. The functions here throw an `Error` whose message is the one line an operator
 * needs; `EmbeddedPostgres.start` turns it into an `EmbeddedPostgresError`.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs"
import { dirname, join, resolve, sep } from "node:path"

export interface OsUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

/** The PostgreSQL programs; `dir` holds their `bin`, `lib` and `share` folders. */
export interface Binaries {
  readonly initdb: string
  readonly postgres: string
  readonly dir: string
}

/** Root-owned folders used only when this process is root and the defaults are out of reach. */
export const DEFAULT_CACHE_DIR = "/var/cache/flatwatch"
export const DEFAULT_STATE_DIR = "/var/lib/flatwatch"

const lookupUser = (name: string): OsUser | undefined => {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":")
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) }
    }
  }
  return undefined
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/**
 * The user PostgreSQL runs as: `undefined` (this process's own user) unless this process is root;
 * then `requested`, else `postgres`, else `nobody`.
 */
export const unprivilegedUser = (requested: string | undefined): OsUser | undefined => {
  if (!isRoot()) return undefined
  const candidates = requested !== undefined ? [requested] : ["postgres", "nobody"]
  for (const name of candidates) {
    const user = lookupUser(name)
    if (user !== undefined) return user
  }
  throw new Error(`running as root, and no user ${candidates.join(" or ")} to run PostgreSQL as`)
}

/** Prefixes a command so that it runs as `user` (PostgreSQL refuses to run as root). */
export const asUser = (user: OsUser | undefined, cmd: ReadonlyArray<string>): string[] =>
  user === undefined
    ? [...cmd]
    : ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", ...cmd]

/**
 * Whether `user` can reach `path` (search a folder, execute a file): asked of the kernel as that
 * user, so modes, owners and ACLs of every folder on the way all count.
 */
const canReach = (user: OsUser, path: string): boolean =>
  Bun.spawnSync(asUser(user, ["test", "-x", path]), { stdout: "ignore", stderr: "ignore" })
    .exitCode === 0

const mode = (path: string) => `mode ${(lstatSync(path).mode & 0o777).toString(8).padStart(3, "0")}`

/** Why `user` cannot reach `path`: the first folder on the way it cannot traverse. */
const blockedAt = (user: OsUser, path: string): string => {
  let current: string = sep
  for (const part of resolve(path)
    .split(sep)
    .filter((p) => p !== "")) {
    current = join(current, part)
    if (!existsSync(current)) break
    if (!canReach(user, current)) return `${current} is ${mode(current)}`
  }
  return `${path} is not reachable`
}

const nearestExisting = (path: string): string => {
  let current = resolve(path)
  while (!existsSync(current)) current = dirname(current)
  return current
}

/**
 * Creates `dir` (and its missing parents) as a folder every user can traverse, and checks that
 * only this process's user can write to it: the unprivileged user will run what is put there.
 */
const ensureSharedDir = (dir: string): void => {
  const missing: string[] = []
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d)
  for (const d of missing) {
    try {
      mkdirSync(d)
      chmodSync(d, 0o755)
    } catch (e) {
      // Another process starting at the same moment made it first; it is checked below.
      if ((e as { code?: string }).code !== "EEXIST") throw e
    }
  }
  const st = lstatSync(dir)
  const uid = process.getuid?.() ?? st.uid
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be a folder owned by uid ${uid} and writable only by it (is ${mode(dir)}, uid ${st.uid})`,
    )
  }
}

/** Group and others may read every file and traverse every folder (umask-proof). */
const makeReadable = (path: string): void => {
  const st = lstatSync(path)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    chmodSync(path, 0o755)
    for (const entry of readdirSync(path)) makeReadable(join(path, entry))
  } else {
    chmodSync(path, (st.mode & 0o100) !== 0 ? 0o755 : 0o644)
  }
}

const packageVersion = (nativeDir: string): string => {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(nativeDir), "package.json"), "utf8")) as {
      version?: unknown
    }
    return typeof pkg.version === "string" ? pkg.version : "unknown"
  } catch {
    return "unknown"
  }
}

/**
 * Copies `bin`, `lib` and `share` of `nativeDir` to `target`: first into a folder of this
 * process's own, then renamed into place in one step, so that a concurrent start either sees no
 * `target` (and stages its own copy) or a complete one.
 */
const stage = (nativeDir: string, target: string): void => {
  const temp = `${target}.staging-${process.pid}-${Date.now()}`
  try {
    mkdirSync(temp)
    for (const part of ["bin", "lib", "share"]) {
      cpSync(join(nativeDir, part), join(temp, part), { recursive: true, verbatimSymlinks: true })
    }
    makeReadable(temp)
    try {
      renameSync(temp, target)
    } catch (e) {
      // Another process staged the same version first; its copy is as good as ours.
      if (!existsSync(join(target, "bin", "postgres"))) throw e
    }
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
}

/**
 * Binaries `user` can run: `bin` itself when `user` is this process's own or can reach it, else
 * a copy in `<cacheDir>/embedded-postgres/<platform>-<version>`, staged once per version.
 */
export const reachableBinaries = (
  bin: Binaries,
  user: OsUser | undefined,
  cacheDir: string,
): Binaries => {
  if (user === undefined || (canReach(user, bin.postgres) && canReach(user, bin.initdb))) return bin
  const target = join(
    resolve(cacheDir),
    "embedded-postgres",
    `${process.platform}-${process.arch}-${packageVersion(bin.dir)}`,
  )
  ensureSharedDir(dirname(target))
  if (!existsSync(join(target, "bin", "postgres"))) stage(bin.dir, target)
  const staged = {
    initdb: join(target, "bin", "initdb"),
    postgres: join(target, "bin", "postgres"),
    dir: target,
  }
  if (!canReach(user, staged.postgres)) {
    throw new Error(
      `user ${user.name} cannot run the PostgreSQL binaries staged in ${target} (${blockedAt(user, staged.postgres)})`,
    )
  }
  return staged
}

export interface DataPlace {
  readonly dataDir: string
  /** The folder asked for, when the cluster lives elsewhere because `user` cannot reach it. */
  readonly relocatedFrom?: string
  /** Why `relocatedFrom` is out of reach, e.g. `/root is mode 700`. */
  readonly blocked?: string
}

/**
 * The data folder: `requested` when `user` can reach it (always when `user` is this process's
 * own). A new cluster that `user` could not reach goes to `<stateDir>/postgres-<hash of
 * requested>` instead, and is found there again on the next start. An existing cluster is never
 * moved: if `user` cannot reach it, this fails saying what to change.
 */
export const reachableDataDir = (
  requested: string,
  user: OsUser | undefined,
  stateDir: string,
): DataPlace => {
  const dataDir = resolve(requested)
  if (user === undefined) return { dataDir }
  if (existsSync(join(dataDir, "PG_VERSION"))) {
    if (canReach(user, dataDir)) return { dataDir }
    throw new Error(
      `PostgreSQL runs as user ${user.name}, which cannot reach the cluster in ${dataDir} (${blockedAt(user, dataDir)}): make that folder traversable (chmod o+x) or move the cluster to a folder it can reach and set EMBEDDED_POSTGRES_DIR to it`,
    )
  }
  const hash = new Bun.CryptoHasher("sha256").update(dataDir).digest("hex").slice(0, 12)
  const relocated = join(resolve(stateDir), `postgres-${hash}`)
  const away = () => ({
    dataDir: relocated,
    relocatedFrom: dataDir,
    blocked: blockedAt(user, dataDir),
  })
  if (existsSync(join(relocated, "PG_VERSION"))) return away()
  if (canReach(user, nearestExisting(dirname(dataDir)))) return { dataDir }
  ensureSharedDir(dirname(relocated))
  if (!canReach(user, dirname(relocated))) {
    throw new Error(
      `PostgreSQL runs as user ${user.name}, which can reach neither ${dataDir} (${blockedAt(user, dataDir)}) nor ${relocated}: set EMBEDDED_POSTGRES_DIR to a folder it can reach`,
    )
  }
  return away()
}
