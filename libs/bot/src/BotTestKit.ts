/**
 * For tests and benchmarks of the bot: a fake Bot API (real HTTP), a fresh migrated database,
 * and the real bot component started on them with its config from a map. Users talk to the bot
 * through the fake (`TestUser.send`, `TestUser.press`) and read what it answered in their chat.
 * Not used by the bot itself.
 */
import { ComponentFatal } from "@flatwatch/db/ComponentFatal"
import { Database } from "@flatwatch/db/Database"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { FakeBotApi, type FakeUser, type RecordedCall } from "@flatwatch/telegram/FakeBotApi"
import { type ChatMessage, FakeChats } from "@flatwatch/telegram/FakeChats"
import {
  ConfigProvider,
  Effect,
  Exit,
  Layer,
  Logger,
  ManagedRuntime,
  type Redacted,
  Scope,
} from "effect"
import { BotServer, type BotServerInfo } from "./BotServer.ts"
import { callbackData } from "./CallbackData.ts"

export const TEST_TOKEN = "7000001:TEST-bot_token-abcdefghijklmnopqrstuvwxyz"

export interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

export interface RunningBot {
  readonly info: BotServerInfo
  /** Stops the bot the way the runner does: its scope closes. */
  readonly stop: () => Promise<void>
}

export class BotHarness {
  /** Every log line of every bot started by this harness. */
  readonly logs: LogLine[] = []
  private readonly running = new Set<RunningBot>()

  private constructor(
    readonly fake: FakeBotApi,
    readonly chats: FakeChats,
    readonly databaseUrl: Redacted.Redacted<string>,
    /** Queries for assertions, on its own pool. */
    readonly db: ManagedRuntime.ManagedRuntime<Database, unknown>,
    private readonly scope: Scope.CloseableScope,
  ) {}

  static async start(): Promise<BotHarness> {
    const fake = await FakeBotApi.start({ tokens: [TEST_TOKEN] })
    const scope = Effect.runSync(Scope.make())
    try {
      const database = await Effect.runPromise(TestDatabase.make.pipe(Scope.extend(scope)))
      const db = ManagedRuntime.make(
        Database.layer({ url: database.url, component: "bot-test-assertions", poolSize: 2 }),
      )
      return new BotHarness(fake, FakeChats.attach(fake), database.url, db, scope)
    } catch (e) {
      await fake.stop()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      throw e
    }
  }

  /**
   * Starts the bot component's server on the fake and the test database. `env` adds or overrides
   * config variables (BOT_MODE, ADMIN_IDS, MAX_FILTERS_PER_USER, ...).
   */
  async startBot(
    env: Record<string, string> = {},
    options: {
      /** Plays the component's host: receives what the bot reports as fatal (`ComponentFatal`). */
      readonly onFatal?: (message: string) => void
    } = {},
  ): Promise<RunningBot> {
    const config = new Map(
      Object.entries({
        BOT_TOKEN: TEST_TOKEN,
        TELEGRAM_API_ROOT: this.fake.apiRoot,
        ...env,
      }),
    )
    const logger = Logger.make<unknown, void>(({ logLevel, message, annotations }) => {
      const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
      const record: Record<string, unknown> = {}
      for (const [k, v] of annotations) record[k] = v
      this.logs.push({ level: logLevel.label, message: text, annotations: record })
    })
    const layer = BotServer.layer.pipe(
      Layer.provide(Database.layer({ url: this.databaseUrl, component: "bot-test", poolSize: 4 })),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(config))),
      Layer.provide(Logger.replace(Logger.defaultLogger, logger)),
    )
    const onFatal = options.onFatal
    const runtime = ManagedRuntime.make(
      onFatal === undefined
        ? layer
        : layer.pipe(
            Layer.provide(
              Layer.succeed(ComponentFatal, { report: (m) => Effect.sync(() => onFatal(m)) }),
            ),
          ),
    )
    const info = await runtime.runPromise(BotServer).catch(async (e: unknown) => {
      await runtime.dispose()
      throw e
    })
    const bot: RunningBot = {
      info,
      stop: async () => {
        this.running.delete(bot)
        await runtime.dispose()
      },
    }
    this.running.add(bot)
    return bot
  }

  /** Starting the bot (as the component layer) fails: returns the failure's message. */
  async startFailure(env: Record<string, string> = {}): Promise<unknown> {
    return this.startBot(env).then(
      async (bot) => {
        await bot.stop()
        throw new Error("the bot started")
      },
      (e: unknown) => e,
    )
  }

  /** Telegram answers the next `method` call for `chatId` with this error, once. */
  failOnce(method: string, chatId: number, error_code: number, description: string): void {
    let pending = true
    this.fake.interceptors.push(({ method: m, params }) => {
      if (!pending || m !== method || Number(params.chat_id) !== chatId) return undefined
      pending = false
      return { ok: false, error_code, description }
    })
  }

  user(id: number, options: Omit<FakeUser, "id"> = {}): TestUser {
    return new TestUser(this, { id, first_name: `User${id}`, ...options })
  }

  /** Runs an assertion query on the test database. */
  query<A, E>(effect: Effect.Effect<A, E, Database>): Promise<A> {
    return this.db.runPromise(effect)
  }

  async stop(): Promise<void> {
    for (const bot of [...this.running]) await bot.stop()
    await this.db.dispose()
    await this.fake.stop()
    await Effect.runPromise(Scope.close(this.scope, Exit.void))
  }
}

/** One Telegram user talking to the bot through the fake, as a person would. */
export class TestUser {
  constructor(
    private readonly harness: BotHarness,
    readonly from: FakeUser,
  ) {}

  get id(): number {
    return this.from.id
  }

  /** Everything the bot sent to this user, oldest first. */
  messages(): ReadonlyArray<ChatMessage> {
    return this.harness.chats.messages(this.id)
  }

  last(): ChatMessage | undefined {
    return this.harness.chats.last(this.id)
  }

  /** Sends a text (or a /command) and resolves with the bot's first new message in reply. */
  async send(text: string): Promise<ChatMessage> {
    const before = this.messages().length
    this.harness.fake.injectMessage(TEST_TOKEN, this.from, text)
    return this.harness.chats.waitUntil(() => this.messages()[before])
  }

  /** Sends a text and resolves once the bot has sent `count` new messages. */
  async sendExpecting(text: string, count: number): Promise<ReadonlyArray<ChatMessage>> {
    const before = this.messages().length
    this.harness.fake.injectMessage(TEST_TOKEN, this.from, text)
    return this.harness.chats.waitUntil(() =>
      this.messages().length >= before + count ? this.messages().slice(before) : undefined,
    )
  }

  /**
   * Presses the button labelled `label` on the newest message that has one; resolves once the
   * bot answered the press (it answers when it is done), with that answer.
   */
  async press(label: string): Promise<RecordedCall["params"]> {
    const found = this.harness.chats.findButton(this.id, label)
    const data = found?.button.callback_data
    if (found === undefined || data === undefined) {
      const labels = this.messages()
        .filter((m) => !m.deleted)
        .flatMap((m) => m.buttons.flat().map((b) => b.text))
      throw new Error(
        `no button "${label}" in the chat of ${this.id}; buttons: ${labels.join(" | ")}`,
      )
    }
    return this.pressData(data, found.message.messageId)
  }

  /** Presses a button with any callback data under any message id (forged or stale presses). */
  async pressData(data: string, messageId: number): Promise<RecordedCall["params"]> {
    const updateId = this.harness.fake.injectCallbackQuery(TEST_TOKEN, this.from, data, messageId)
    const call = await this.harness.fake.waitForCall(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === `cq${updateId}`,
    )
    return call.params
  }

  /**
   * Saves a search with every criterion left at "any" (from /filters, "new search", "save",
   * pressed by their data, so in any language); resolves with what the bot shows after saving.
   */
  async saveSearch(): Promise<ChatMessage> {
    const list = await this.send("/filters")
    await this.pressData(callbackData({ _tag: "fnew" }), list.messageId)
    await this.pressData(callbackData({ _tag: "e.save" }), list.messageId)
    return list
  }

  /** All button labels of a message, row by row. */
  static labels(message: ChatMessage | undefined): string[] {
    return message?.buttons.flat().map((b) => b.text) ?? []
  }
}
