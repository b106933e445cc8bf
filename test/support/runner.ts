/**
 * Runs `bun run apps/runner` as a subprocess for tests, the way ops run it, and stops it by its
 * own pid (also when a test fails: call `stopAll` in afterEach/afterAll).
 */
import { join } from "node:path"

export const repoRoot = join(import.meta.dir, "..", "..")

export interface RunnerProcess {
  readonly proc: ReturnType<typeof Bun.spawn>
  readonly port: number
  /** Everything the runner wrote so far (stdout and stderr). */
  output: () => string
  /** Resolves when GET /readyz answers 200; rejects with the output after `timeoutMs`. */
  waitReady: (timeoutMs?: number) => Promise<unknown>
  /** Polls until `check` returns a value other than undefined. */
  get: (path: string) => Promise<Response>
  /** SIGTERM, then the exit code and how long the exit took. */
  terminate: (signal?: NodeJS.Signals) => Promise<{ code: number | null; ms: number }>
  exited: Promise<number>
}

const running = new Set<ReturnType<typeof Bun.spawn>>()

export const freePort = (): number => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

export const waitUntil = async <A>(
  check: () => A | undefined | Promise<A | undefined>,
  timeoutMs: number,
  what: string,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(50)
  }
}

export const startRunner = (options: {
  env: Record<string, string | undefined>
  args?: string[]
}): RunnerProcess => {
  const port = Number(options.env.HTTP_PORT ?? freePort())
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries({
    ...process.env,
    LOG_FORMAT: "json",
    ...options.env,
    HTTP_PORT: String(port),
  })) {
    if (v !== undefined) env[k] = v
  }
  const proc = Bun.spawn(["bun", "run", "apps/runner", ...(options.args ?? [])], {
    cwd: repoRoot,
    env,
    stdout: "pipe",
    stderr: "pipe",
  })
  running.add(proc)
  let out = ""
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true })
  }
  const pumped = Promise.all([
    pump(proc.stdout as ReadableStream<Uint8Array>),
    pump(proc.stderr as ReadableStream<Uint8Array>),
  ])
  const exited = proc.exited.then(async (code) => {
    running.delete(proc)
    await pumped
    return code
  })
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`)
  return {
    proc,
    port,
    output: () => out,
    get,
    exited,
    waitReady: (timeoutMs = 20_000) =>
      waitUntil(
        async () => {
          if (proc.exitCode !== null)
            throw new Error(`runner exited with ${proc.exitCode}:\n${out}`)
          const res = await get("/readyz").catch(() => undefined)
          return res?.status === 200 ? await res.json() : undefined
        },
        timeoutMs,
        "the runner to be ready",
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- runner output ---\n${out}`)
      }),
    terminate: async (signal = "SIGTERM") => {
      const t0 = performance.now()
      proc.kill(signal)
      const code = await exited
      return { code, ms: performance.now() - t0 }
    },
  }
}

/** Kills every runner a test started and did not stop (by pid). */
export const stopAll = async () => {
  for (const proc of running) {
    proc.kill("SIGKILL")
    await proc.exited
  }
  running.clear()
}

/** The runner's JSON log lines. */
export const logLines = (
  output: string,
): Array<{ message: string; logLevel?: string; annotations?: Record<string, string> }> =>
  output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return { message: l }
      }
    })
