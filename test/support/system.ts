/**
 * The whole Flatwatch system for end-to-end and fault tests, as ops and users meet it:
 *
 * - the fake Telegram Bot API (`FakeBotApi`, real HTTP) with every chat recorded (`FakeChats`);
 * - the fake Bayut (`FakeBayut`: its Algolia API and listing pages on a local port);
 * - a fresh, migrated PostgreSQL database (`TestDatabase.make`), or one the test brings;
 * - `bun run apps/runner` as a subprocess pointed at all three, started, restarted (with other
 *   settings, e.g. a moved business clock) and stopped by its own pid.
 *
 * Users talk to the bot through `system.user(id)`: they send texts, press buttons by their
 * visible label, and read what their chat shows. Every wait is for a condition (a message in a
 * chat, a row in a table), never a fixed sleep; a wait that times out says what it waited for and
 * shows the end of the runner's log.
 *
 * Typical use:
 *
 * ```ts
 * setDefaultTimeout(60_000)
 * let system: System
 * beforeAll(async () => {
 *   system = await System.start({ env: { TRIAL_DURATION: "2 days" } })
 *   await system.startRunner()
 * })
 * afterAll(() => system?.stop()) // also when a test failed: kills what is still running
 *
 * const anna = system.user(1001, { first_name: "Anna", language_code: "en" })
 * await anna.send("/start")
 * await anna.press("🔎 My searches")
 * system.publish({ id: "501", price: 8_500, rooms: 2, neighbourhood: "Dubai Marina" })
 * const alert = await anna.nextMessage((m) => m.method === "sendPhoto")
 * ```
 */
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FakeBayut, type FakeBayutListing } from "@flatwatch/parser/FakeBayut"
import { FakeBotApi, type FakeUser } from "@flatwatch/telegram/FakeBotApi"
import { parseTelegramHtml } from "@flatwatch/telegram/FakeBotApiLimits"
import { type FakeInvoice, FakePayments } from "@flatwatch/telegram/FakeBotApiPayments"
import { type ChatMessage, FakeChats } from "@flatwatch/telegram/FakeChats"
import { Duration, Effect, Exit, Redacted, Scope } from "effect"
import postgres from "postgres"
import { logLines, type RunnerProcess, startRunner, waitUntil } from "./runner.ts"

export type { ChatMessage } from "@flatwatch/telegram/FakeChats"

/** The bot token the runner is started with (the fake accepts it). */
export const SYSTEM_TOKEN = "5550001:E2E-flatwatch_token-abcdefghijklmnopqrstu"

/** How long a wait lasts by default before it fails. */
const WAIT_MS = 15_000

/**
 * Runner starts go one at a time in this test process. A start (four Bun processes compiling
 * their code, opening pools, migrating) is the heaviest moment of a system; tests that run side
 * by side (`test.concurrent`) would otherwise start theirs at once, and on a busy 2-core machine
 * each start then takes several times as long as alone.
 */
let lastStart: Promise<unknown> = Promise.resolve()
const oneStartAtATime = <A>(start: () => Promise<A>): Promise<A> => {
  const result = lastStart.then(start)
  lastStart = result.catch(() => undefined)
  return result
}

/** How long each start in this process took, in ms, from spawn to ready. */
const startTimes: number[] = []
const slowestStart = () => Math.max(0, ...startTimes)

/**
 * The deadline for a start: 10 times the slowest start measured so far in this process, and at
 * least 30 s (the first start, or when every start so far was quick).
 */
const startDeadline = (): number => Math.max(30_000, 10 * slowestStart())

/**
 * A deadline for something that takes `starts` starts of a component (a worker the runner
 * restarts) besides `ms` of waiting: each start is priced at the slowest runner start measured
 * in this process, so a busy machine that starts slowly also gets more time.
 */
export const withStarts = (ms: number, starts: number): number => ms + starts * slowestStart()

let freeTurns = 2
const turnQueue: Array<() => void> = []

/** A turn of a heavy test (`System.turn`); the systems it `own`s stop when it ends. */
export interface Turn extends AsyncDisposable {
  own(system: System): System
}

export interface SystemOptions {
  /**
   * Settings for every start of the runner, over the defaults (`System.defaultEnv`); a start
   * can add more (`startRunner(env)`).
   */
  readonly env?: Readonly<Record<string, string>>
  /**
   * A database to use instead of a fresh one on `TEST_DATABASE_URL` (e.g. on a PostgreSQL the
   * test stops and starts itself). It must be empty or migrated; the runner migrates it.
   */
  readonly databaseUrl?: string
  /** Telegram ids of the operators (`ADMIN_IDS`); default `[900]`. */
  readonly adminIds?: ReadonlyArray<number>
}

/** A listing to publish on the fake Bayut; `createdAt` defaults to the business clock's now. */
export type PublishedListing = Omit<FakeBayutListing, "createdAt"> & { readonly createdAt?: number }

/** A row of `listings`, as stored by the parser. */
export interface StoredListing {
  readonly id: number
  readonly externalId: string
  readonly price: number
}

/** A row of `deliveries` (the outbox), as `deliveriesOf` reads it. */
export interface DeliveryRow {
  readonly kind: string
  readonly status: string
  /** The Bayut id of its listing (listing and price-drop alerts), else null. */
  readonly listingExternalId: string | null
  readonly dedupeKey: string
}

/** A row of `source_runs`. */
export interface ParserRun {
  readonly id: number
  readonly source: string
  readonly outcome: string | null
  readonly pages: number
  readonly found: number
  readonly new: number
  readonly updated: number
  readonly errors: number
}

export class System {
  /** The running runner, if any (`startRunner`, `stopRunner`, `restartRunner`). */
  runner: RunnerProcess | undefined
  /** Every runner process started so far, in order (their output stays readable). */
  readonly runs: RunnerProcess[] = []
  private offsetMs = 0
  private stopped = false

  private constructor(
    /** The fake Bot API: every call, injected updates, faults (`fake.limits`). */
    readonly fake: FakeBotApi,
    /** Each user's chat as they see it. */
    readonly chats: FakeChats,
    /** The fake Bayut; `publish` and `changeListing` edit what it lists. */
    readonly bayut: FakeBayut,
    /** Plain URL of the database the runner uses. */
    readonly databaseUrl: string,
    /** A small pool on that database, for assertions. */
    readonly sql: postgres.Sql,
    readonly adminIds: ReadonlyArray<number>,
    private readonly baseEnv: Readonly<Record<string, string>>,
    private readonly scope: Scope.CloseableScope,
  ) {}

  /**
   * The settings every runner start gets before `SystemOptions.env` and the start's own: the
   * fakes, the database, a parser run every second with no jitter or politeness delay, a
   * subscriptions tick every second, JSON logs. Trial, plans and reminders keep their defaults.
   */
  static defaultEnv(parts: {
    apiRoot: string
    bayutUrl: string
    databaseUrl: string
    adminIds: ReadonlyArray<number>
  }): Record<string, string> {
    return {
      BOT_TOKEN: SYSTEM_TOKEN,
      TELEGRAM_API_ROOT: parts.apiRoot,
      DATABASE_URL: parts.databaseUrl,
      ADMIN_IDS: parts.adminIds.join(","),
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      BAYUT_ENABLED: "true",
      BAYUT_BASE_URL: parts.bayutUrl,
      BAYUT_SITE_URL: parts.bayutUrl,
      BAYUT_ALGOLIA_APP_ID: "E2EAPP",
      BAYUT_ALGOLIA_API_KEY: "e2e-search-key",
      BAYUT_CRON: "* * * * * *",
      PARSER_JITTER: "0 seconds",
      PARSER_POLITENESS_DELAY: "0 seconds",
      PARSER_FETCH_BACKOFF: "100 millis",
      SUBSCRIPTIONS_CRON: "* * * * * *",
      SEND_POLL_INTERVAL: "250 millis",
    }
  }

  /**
   * A turn for a heavy test that runs side by side with others (`test.concurrent`): at most two
   * turns are held at once in this process, so that a busy 2-core machine runs two whole runners
   * (four Bun processes each) at a time, not all. The systems the test registers with `own` stop
   * when the turn ends, also when the test fails:
   *
   * ```ts
   * await using turn = await System.turn()
   * const system = turn.own(await System.start())
   * ```
   */
  static async turn(): Promise<Turn> {
    if (freeTurns > 0) freeTurns--
    else await new Promise<void>((resolve) => turnQueue.push(resolve))
    const owned: System[] = []
    return {
      own: (system) => {
        owned.push(system)
        return system
      },
      [Symbol.asyncDispose]: async () => {
        try {
          await Promise.all(owned.map((s) => s.stop()))
        } finally {
          const next = turnQueue.shift()
          if (next !== undefined) next()
          else freeTurns++
        }
      },
    }
  }

  /** Starts the fakes and takes a database; the runner is started separately (`startRunner`). */
  static async start(options: SystemOptions = {}): Promise<System> {
    const fake = await FakeBotApi.start({ tokens: [SYSTEM_TOKEN] })
    const chats = FakeChats.attach(fake)
    const bayut = FakeBayut.start()
    const scope = Effect.runSync(Scope.make())
    try {
      const databaseUrl =
        options.databaseUrl ??
        Redacted.value((await Effect.runPromise(Scope.extend(TestDatabase.make, scope))).url)
      const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} })
      const adminIds = options.adminIds ?? [900]
      const env = {
        ...System.defaultEnv({ apiRoot: fake.apiRoot, bayutUrl: bayut.url, databaseUrl, adminIds }),
        ...options.env,
      }
      return new System(fake, chats, bayut, databaseUrl, sql, adminIds, env, scope)
    } catch (e) {
      bayut.stop()
      await fake.stop()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      throw e
    }
  }

  // --- the runner -------------------------------------------------------------------------

  /** The environment the next start gets (defaults, options, `extra`, the clock offset). */
  env(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    return {
      ...this.baseEnv,
      ...(this.offsetMs === 0 ? {} : { CLOCK_OFFSET: `${this.offsetMs} millis` }),
      ...extra,
    }
  }

  /**
   * Starts `bun run apps/runner` (all components unless `options.args` say `--only ...`) and
   * resolves once `/readyz` answers 200 (or, with `ready: false`, e.g. when the database or the
   * bot's token is refused on purpose, once its HTTP endpoint answers at all). Starts take turns
   * with the other systems of this test process. Fails if a runner is already running.
   */
  async startRunner(
    extra: Readonly<Record<string, string>> = {},
    options: { readonly args?: ReadonlyArray<string>; readonly ready?: boolean } = {},
  ): Promise<RunnerProcess> {
    if (this.runner !== undefined) throw new Error("a runner is already running; stop it first")
    const env = this.env(extra)
    return oneStartAtATime(async () => {
      const started = performance.now()
      const runner = startRunner({ env, args: [...(options.args ?? [])] })
      this.runner = runner
      this.runs.push(runner)
      const deadline = startDeadline()
      if (options.ready !== false) {
        await runner.waitReady(deadline)
        startTimes.push(performance.now() - started)
      } else {
        await waitUntil(
          async () => {
            if (runner.proc.exitCode !== null)
              throw new Error(`runner exited with ${runner.proc.exitCode}:\n${runner.output()}`)
            return (await runner.get("/healthz").catch(() => undefined))?.status
          },
          deadline,
          "the runner's HTTP endpoint",
        )
      }
      return runner
    })
  }

  /**
   * Stops the runner with `signal` (SIGTERM by default, as ops do) and resolves with its exit
   * code and how long it took to exit. SIGKILL stops it at once, as a crash would.
   */
  async stopRunner(
    signal: NodeJS.Signals = "SIGTERM",
  ): Promise<{ code: number | null; ms: number }> {
    const runner = this.runner
    if (runner === undefined) throw new Error("no runner is running")
    this.runner = undefined
    return runner.terminate(signal)
  }

  /**
   * A graceful stop (which must exit 0), then a start with `extra` settings. Resolves when the
   * new runner is ready.
   */
  async restartRunner(extra: Readonly<Record<string, string>> = {}): Promise<RunnerProcess> {
    const { code } = await this.stopRunner()
    if (code !== 0) throw new Error(`the runner exited with ${code}:\n${this.logTail()}`)
    return this.startRunner(extra)
  }

  /**
   * Moves every component's business clock to `offset` ahead of real time (`CLOCK_OFFSET`):
   * the runner is restarted with it, so days pass without waiting. The offset stays for later
   * starts. Trial ends, reminders, expiry and "has access now" follow the business clock.
   */
  async moveClockTo(offset: Duration.DurationInput): Promise<RunnerProcess> {
    this.offsetMs = Duration.toMillis(Duration.decode(offset))
    return this.restartRunner()
  }

  /** Business time: real time plus the clock offset the runner was last given. */
  now(): number {
    return Date.now() + this.offsetMs
  }

  /**
   * A value from the running runner's `/metrics` (Prometheus text): the sample named `name`
   * whose labels include `labels` (e.g. `{ component: "bot" }`); undefined when there is none.
   */
  async metric(
    name: string,
    labels: Readonly<Record<string, string>> = {},
  ): Promise<number | undefined> {
    if (this.runner === undefined) throw new Error("no runner is running")
    const text = await (await this.runner.get("/metrics")).text()
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
    for (const line of text.split("\n")) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (match?.[1] !== name) continue
      const present = match[2] ?? ""
      if (wanted.every((w) => present.split(",").includes(w))) return Number(match[3])
    }
    return undefined
  }

  /** The JSON log lines of every runner started so far, in order. */
  logs(): Array<{ message: string; logLevel?: string; annotations?: Record<string, string> }> {
    return this.runs.flatMap((r) => logLines(r.output()))
  }

  /** Log lines at ERROR or FATAL of every runner started so far: what an operator would chase. */
  errorsLogged(): string[] {
    return this.logs()
      .filter((l) => l.logLevel === "ERROR" || l.logLevel === "FATAL")
      .map((l) => l.message)
  }

  /** The last `lines` lines of the current (or last) runner's output. */
  logTail(lines = 40): string {
    const last = this.runner ?? this.runs.at(-1)
    if (last === undefined) return "(no runner was started)"
    return last.output().trimEnd().split("\n").slice(-lines).join("\n")
  }

  /**
   * Polls `check` (every 50 ms) until it returns a value other than undefined; on timeout the
   * error names `what` and shows the end of the runner's log.
   */
  async waitFor<A>(
    what: string,
    check: () => A | undefined | Promise<A | undefined>,
    timeoutMs = WAIT_MS,
  ): Promise<A> {
    try {
      return await waitUntil(check, timeoutMs, what)
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- runner log (end) ---\n${this.logTail()}`)
    }
  }

  // --- the listing site -------------------------------------------------------------------

  /**
   * Puts listings on the fake Bayut (newest first in its answers), created now on the business
   * clock unless given. Returns them as listed.
   */
  publish(...listings: ReadonlyArray<PublishedListing>): FakeBayutListing[] {
    const createdAt = Math.floor(this.now() / 1000)
    const added = listings.map((l) => ({ createdAt, ...l }))
    this.bayut.listings = [...this.bayut.listings, ...added]
    return added
  }

  /** Changes a listing on the fake Bayut (a new price, ...). */
  changeListing(id: string, change: Partial<Omit<FakeBayutListing, "id">>): FakeBayutListing {
    const current = this.bayut.listings.find((l) => l.id === id)
    if (current === undefined) throw new Error(`no listing ${id} on the fake Bayut`)
    const changed = { ...current, ...change }
    this.bayut.listings = this.bayut.listings.map((l) => (l.id === id ? changed : l))
    return changed
  }

  /** Resolves once the parser has stored every listing named (Bayut external ids). */
  async waitForStored(
    externalIds: ReadonlyArray<string>,
    timeoutMs = WAIT_MS,
  ): Promise<StoredListing[]> {
    return this.waitFor(
      `the parser to store listings ${externalIds.join(", ")}`,
      async () => {
        const rows = await this.sql<StoredListing[]>`
          select id::int as id, external_id as "externalId", price
          from listings where source = 'bayut' and external_id in ${this.sql(externalIds)}
          order by external_id`
        return rows.length === externalIds.length ? [...rows] : undefined
      },
      timeoutMs,
    )
  }

  /**
   * Resolves with the first finished crawl of `source` that started after `since` (business
   * time; default: now). Such a run saw everything the site listed at `since`.
   */
  async waitForRun(
    options: {
      readonly since?: number
      readonly source?: string
      readonly timeoutMs?: number
    } = {},
  ): Promise<ParserRun> {
    const since = new Date(options.since ?? this.now())
    const source = options.source ?? "bayut"
    return this.waitFor(
      `a ${source} run started after ${since.toISOString()}`,
      async () => {
        const [row] = await this.sql<ParserRun[]>`
          select id::int as id, source, outcome::text as outcome, pages, found, new, updated, errors
          from source_runs
          where source = ${source} and kind = 'crawl' and finished_at is not null
            and started_at > ${since}
          order by id limit 1`
        return row
      },
      options.timeoutMs ?? WAIT_MS,
    )
  }

  /** The outbox rows (`deliveries`) of one user, oldest first, with their listing's Bayut id. */
  async deliveriesOf(userId: number): Promise<DeliveryRow[]> {
    const rows = await this.sql<DeliveryRow[]>`
      select d.kind::text as kind, d.status::text as status,
             l.external_id as "listingExternalId", d.dedupe_key as "dedupeKey"
      from deliveries d left join listings l on l.id = d.listing_id
      where d.user_id = ${userId} order by d.id`
    return [...rows]
  }

  // --- users ------------------------------------------------------------------------------

  /** A Telegram user talking to the bot through the fake, as a person would. */
  user(id: number, profile: Omit<FakeUser, "id"> = {}): SystemUser {
    return new SystemUser(this, { id, first_name: `User${id}`, ...profile })
  }

  /** Stops everything still running: the runner (SIGKILL), the fakes, the database. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.runner = undefined
    for (const runner of this.runs)
      if (runner.proc.exitCode === null && runner.proc.signalCode === null)
        await runner.terminate("SIGKILL")
    await this.sql.end({ timeout: 5 })
    this.bayut.stop()
    await this.fake.stop()
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }
}

/** One user in their private chat with the bot. */
export class SystemUser {
  constructor(
    private readonly system: System,
    readonly from: FakeUser,
  ) {}

  get id(): number {
    return this.from.id
  }

  /** Every message the bot sent to this user, oldest first (as last edited). */
  messages(): ReadonlyArray<ChatMessage> {
    return this.system.chats.messages(this.id)
  }

  /** The newest message still in the chat. */
  last(): ChatMessage | undefined {
    return this.system.chats.last(this.id)
  }

  /** What the newest message says, as the user sees it ("" in an empty chat). */
  lastText(): string {
    const last = this.last()
    return last === undefined ? "" : visible(last)
  }

  /** How many messages the chat has: a mark for `messagesSince` / `nextMessage`. */
  mark(): number {
    return this.messages().length
  }

  /** Messages that arrived after `mark`. */
  messagesSince(mark: number): ReadonlyArray<ChatMessage> {
    return this.messages().slice(mark)
  }

  /**
   * Sends a text (a /command when it starts with `/`) and resolves with the bot's first new
   * message after it that `isAnswer` accepts (default: any). A subscriber whose alerts are
   * flowing gets them in the same chat, so a test that sends while alerts flow says which
   * message answers it (e.g. `(m) => m.method === "sendMessage"`).
   */
  async send(
    text: string,
    timeoutMs = WAIT_MS,
    isAnswer: (m: ChatMessage) => boolean = () => true,
  ): Promise<ChatMessage> {
    const mark = this.mark()
    this.system.fake.injectMessage(SYSTEM_TOKEN, this.from, text)
    return this.waitInChat(
      `an answer to “${text}”`,
      () => this.messagesSince(mark).find(isAnswer),
      timeoutMs,
    )
  }

  /**
   * Presses the inline button labelled `label` (exactly, else containing it) on the newest
   * message that has one, and resolves once the bot answered the press (grammY answers when
   * the handler is done, so the chat already shows the result) with the toast text, if any.
   */
  async press(label: string, timeoutMs = WAIT_MS): Promise<string | undefined> {
    const found = this.system.chats.findButton(this.id, label)
    const data = found?.button.callback_data
    if (found === undefined || data === undefined) {
      throw new Error(
        `no button “${label}” in the chat of user ${this.id}; buttons there: ${this.labels().join(" | ")}`,
      )
    }
    const updateId = this.system.fake.injectCallbackQuery(
      SYSTEM_TOKEN,
      this.from,
      data,
      found.message.messageId,
    )
    const answer = await this.system.fake.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === `cq${updateId}`,
      timeoutMs,
    )
    const text = answer.params.text
    return typeof text === "string" ? text : undefined
  }

  /**
   * Resolves with the first message after `mark` (default: now) that satisfies `predicate`,
   * waiting for it to arrive.
   */
  async nextMessage(
    predicate: (m: ChatMessage) => boolean = () => true,
    options: { readonly mark?: number; readonly what?: string; readonly timeoutMs?: number } = {},
  ): Promise<ChatMessage> {
    const mark = options.mark ?? this.mark()
    return this.waitInChat(
      options.what ?? "a new message",
      () => this.messagesSince(mark).find(predicate),
      options.timeoutMs ?? WAIT_MS,
    )
  }

  /** The newest invoice the bot sent this user. */
  lastInvoice(): FakeInvoice | undefined {
    return FakePayments.of(this.system.fake).invoicesTo(this.id).at(-1)
  }

  /**
   * Pays an invoice in Telegram Stars as Telegram runs it: a pre-checkout query, and when the
   * bot accepts it in time, the charge and the `successful_payment` message. Resolves with the
   * bot's first message after the payment (its confirmation).
   */
  async pay(invoice: FakeInvoice, timeoutMs = WAIT_MS): Promise<ChatMessage> {
    const mark = this.mark()
    const result = await FakePayments.of(this.system.fake).payInvoice(this.from, invoice)
    if (!result.ok) throw new Error(`the bot refused the payment: ${JSON.stringify(result.answer)}`)
    return this.waitInChat("the payment confirmation", () => this.messages()[mark], timeoutMs)
  }

  /** Labels of every button still in the chat, newest message last. */
  labels(): string[] {
    return this.messages()
      .filter((m) => !m.deleted)
      .flatMap((m) => m.buttons.flat().map((b) => b.text))
  }

  private async waitInChat<A>(
    what: string,
    check: () => A | undefined,
    timeoutMs: number,
  ): Promise<A> {
    try {
      return await this.system.chats.waitUntil(check, timeoutMs)
    } catch {
      const seen = this.messages()
        .slice(-5)
        .map((m) => `  [${m.method}] ${visible(m).slice(0, 200)}`)
        .join("\n")
      throw new Error(
        `user ${this.id} waited ${timeoutMs} ms for ${what}; last messages:\n${seen}\n--- runner log (end) ---\n${this.system.logTail()}`,
      )
    }
  }
}

/** What the user sees of a message: its text or caption with Telegram HTML rendered. */
export const visible = (message: ChatMessage): string => {
  if (message.params.parse_mode !== "HTML") return message.text
  const parsed = parseTelegramHtml(message.text)
  return parsed.ok ? parsed.text : message.text
}

/** The labels of a message's buttons, row by row flattened. */
export const labelsOf = (message: ChatMessage | undefined): string[] =>
  message?.buttons.flat().map((b) => b.text) ?? []
