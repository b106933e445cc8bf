/**
 * Bot latency: the time from an update injected into the fake Bot API to the bot's answer
 * arriving back at the fake (the bot's `sendMessage` for a message, its `answerCallbackQuery`,
 * sent when the handler is done, for a button press), at 1 user and at 200 users at once (each
 * user waits for the answer before their next update, as a person does). The bot is the real
 * component: long polling with @grammyjs/runner, sessions and data in PostgreSQL. Target: p95
 * < 50 ms at 200 users.
 *
 * The bot runs in its own Bun Worker, as the runner runs it; the fake and the load generator share
 * the main thread, and PostgreSQL the same two CPUs.
 *
 * Run: `bun bench/bot-latency.bench.ts` (uses TEST_DATABASE_URL, else starts an embedded
 * PostgreSQL in a temporary directory and removes it afterwards).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { BotHarness, TEST_TOKEN, type TestUser } from "@flatwatch/bot/BotTestKit"
import { callbackData } from "@flatwatch/bot/CallbackData"
import { start } from "@flatwatch/db/EmbeddedPostgres"
import type { FakeUser } from "@flatwatch/telegram/FakeBotApi"
import { Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"

const ROUNDS_ONE_USER = 300
const USERS = 200
const ROUNDS_PER_USER = 10
const PACE_SECONDS = 10

const scope = Effect.runSync(Scope.make())
let tempDir: string | undefined
if (!process.env.TEST_DATABASE_URL) {
  tempDir = mkdtempSync(join(tmpdir(), "flatwatch-bench-pg-"))
  chmodSync(tempDir, 0o755)
  const pg = await Effect.runPromise(
    start({ dataDir: join(tempDir, "data"), database: "postgres" }).pipe(
      Scope.extend(scope),
      Logger.withMinimumLogLevel(LogLevel.Warning),
    ),
  )
  process.env.TEST_DATABASE_URL = Redacted.value(pg.adminUrl)
}

const h = await BotHarness.start()
// The bot runs in its own Worker (thread), as the runner runs it; fake and load run here.
const worker = new Worker(new URL("./support/bot-worker.ts", import.meta.url).href)
const fromWorker = () =>
  new Promise<string>((resolve) => {
    worker.onmessage = (e: MessageEvent) => resolve(String(e.data))
  })
try {
  const started = fromWorker()
  worker.postMessage({
    BOT_TOKEN: TEST_TOKEN,
    TELEGRAM_API_ROOT: h.fake.apiRoot,
    DATABASE_URL: Redacted.value(h.databaseUrl),
  })
  const state = await started
  if (state !== "ready") throw new Error(`the bot did not start: ${state}`)

  // Answers are timed where they arrive: an interceptor that lets every call through.
  const waiting = new Map<string, (at: number) => void>()
  h.fake.interceptors.push(({ method, params }) => {
    const key =
      method === "answerCallbackQuery"
        ? `cq:${String(params.callback_query_id)}`
        : method === "sendMessage"
          ? `msg:${String(params.chat_id)}`
          : undefined
    const resolve = key === undefined ? undefined : waiting.get(key)
    if (key !== undefined && resolve !== undefined) {
      waiting.delete(key)
      resolve(performance.now())
    }
    return undefined
  })
  const answerOf = (key: string) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${key}`)), 30_000)
      waiting.set(key, (at) => {
        clearTimeout(timer)
        resolve(at)
      })
    })

  /** A user sends /start: time to the bot's sendMessage. */
  const start = async (from: FakeUser) => {
    const answered = answerOf(`msg:${from.id}`)
    const t0 = performance.now()
    h.fake.injectMessage(TEST_TOKEN, from, "/start")
    return (await answered) - t0
  }

  /** A user toggles a district in the filter editor: time to the answer of the press. */
  const press = async (user: TestUser, editorMessageId: number) => {
    const data = callbackData({ _tag: "e.dist", index: 3 })
    const t0 = performance.now()
    // The fake names the query `cq<update id>`, and the id is the next update's.
    const updateId = h.fake.injectCallbackQuery(TEST_TOKEN, user.from, data, editorMessageId)
    const at = await answerOf(`cq:cq${updateId}`)
    return at - t0
  }

  /** Opens the filter editor for a user; returns its message id. */
  const openEditor = async (user: TestUser) => {
    await user.send("/start")
    await user.press("🔎 My searches")
    await user.press("➕ New search")
    const editor = h.chats.findButton(user.id, "Dubai Marina")?.message
    if (editor === undefined) throw new Error("no editor")
    return editor.messageId
  }

  const stats = (samples: number[], seconds: number) => {
    const sorted = [...samples].sort((a, b) => a - b)
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
    return {
      n: sorted.length,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: sorted.at(-1) ?? 0,
      rate: sorted.length / seconds,
    }
  }

  const rows: Array<[string, number, ReturnType<typeof stats>]> = []
  const measure = async (name: string, users: number, run: () => Promise<number[]>) => {
    const t0 = performance.now()
    const samples = await run()
    rows.push([name, users, stats(samples, (performance.now() - t0) / 1000)])
  }

  // Warm-up: connections, JIT, prepared statements.
  const warm = h.user(1)
  const warmEditor = await openEditor(warm)
  for (let i = 0; i < 50; i++) {
    await start(warm.from)
    await press(warm, warmEditor)
  }

  const solo = h.user(2)
  const soloEditor = await openEditor(solo)
  await measure("/start", 1, async () => {
    const out: number[] = []
    for (let i = 0; i < ROUNDS_ONE_USER; i++) out.push(await start(solo.from))
    return out
  })
  await measure("editor button", 1, async () => {
    const out: number[] = []
    for (let i = 0; i < ROUNDS_ONE_USER; i++) out.push(await press(solo, soloEditor))
    return out
  })

  const crowd = Array.from({ length: USERS }, (_, i) => h.user(10_000 + i))
  const editors = await Promise.all(crowd.map(openEditor))
  type Act = (user: TestUser, u: number) => Promise<number>
  const startAct: Act = (user) => start(user.from)
  const pressAct: Act = (user, u) => press(user, editors[u] ?? 0)

  /** Every user acts about once a second (0.5-1.5 s apart), for `seconds`. */
  const humanPace = (act: Act, seconds: number) => async () => {
    const until = performance.now() + seconds * 1000
    return (
      await Promise.all(
        crowd.map(async (user, u) => {
          const out: number[] = []
          await Bun.sleep(Math.random() * 1000)
          while (performance.now() < until) {
            out.push(await act(user, u))
            await Bun.sleep(500 + Math.random() * 1000)
          }
          return out
        }),
      )
    ).flat()
  }
  /** All users at the same moment, once each, `times` times over. */
  const burst = (act: Act, times: number) => async () => {
    const out: number[] = []
    for (let i = 0; i < times; i++) out.push(...(await Promise.all(crowd.map(act))))
    return out
  }
  /** Every user acts again as soon as the bot answered (no pause at all): saturation. */
  const flatOut = (act: Act) => async () =>
    (
      await Promise.all(
        crowd.map(async (user, u) => {
          const out: number[] = []
          for (let i = 0; i < ROUNDS_PER_USER; i++) out.push(await act(user, u))
          return out
        }),
      )
    ).flat()

  await measure("/start, human pace", USERS, humanPace(startAct, PACE_SECONDS))
  await measure("editor, human pace", USERS, humanPace(pressAct, PACE_SECONDS))
  await measure("/start, all at once", USERS, burst(startAct, 5))
  await measure("editor, all at once", USERS, burst(pressAct, 5))
  await measure("/start, no pause", USERS, flatOut(startAct))
  await measure("editor, no pause", USERS, flatOut(pressAct))

  const f = (n: number) => n.toFixed(1).padStart(7)
  console.log(
    `bot latency: update injected into the fake Bot API → the bot's answer (${cpus().length} CPUs, ` +
      `PostgreSQL ${tempDir === undefined ? "from TEST_DATABASE_URL" : "embedded"}; the bot in its own Worker, fake and load in the main thread)`,
  )
  console.log(
    "scenario                  users  samples   p50 ms  p95 ms  p99 ms  max ms  answers/s",
  )
  for (const [name, users, s] of rows) {
    console.log(
      `${name.padEnd(24)} ${String(users).padStart(6)} ${String(s.n).padStart(8)} ${f(s.p50)} ${f(s.p95)} ${f(s.p99)} ${f(s.max)} ${s.rate.toFixed(0).padStart(9)}`,
    )
  }
  const paced = rows.filter(([name, users]) => users === USERS && name.includes("human pace"))
  const worst = Math.max(...paced.map(([, , s]) => s.p95))
  console.log(
    `target p95 < 50 ms at ${USERS} users (at a human pace, ~${USERS} updates/s): worst p95 ${worst.toFixed(1)} ms, ${worst < 50 ? "met" : "NOT met"}`,
  )
  console.log(
    "  /start answers with sendMessage; an editor button (toggle a district) with editMessageText, then answerCallbackQuery (timed)",
  )
  console.log(
    `  "all at once": ${USERS} updates injected together, 5 times; "no pause": each user sends the next update as soon as the last is answered (saturation)`,
  )
} finally {
  const stopped = fromWorker()
  worker.postMessage("stop")
  await Promise.race([stopped, Bun.sleep(15_000)])
  worker.terminate()
  await h.stop()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true })
}
