import * as ComponentFatal from "@flatwatch/db/ComponentFatal"
import { registerProbe } from "@flatwatch/db/ComponentHealth"
import { Markets } from "@flatwatch/market/Markets"
import { Payments } from "@flatwatch/subscriptions/Payments"
import { Plans } from "@flatwatch/subscriptions/Plans"
import { Subscriptions } from "@flatwatch/subscriptions/Subscriptions"
import { type RunOptions, run as runPolling } from "@grammyjs/runner"
import {
  Context,
  Data,
  Duration,
  Effect,
  Exit,
  FiberSet,
  Layer,
  Option,
  Redacted,
  Schedule,
  Schema,
  Scope,
} from "effect"
import { GrammyError } from "grammy"
import type { Update, UserFromGetMe } from "grammy/types"
import { AdminQueries } from "./AdminQueries.ts"
import { BotConfig, type BotMode, type BotSettings, type WebhookConfig } from "./BotConfig.ts"
import type { BotServices } from "./BotContext.ts"
import { stallReason } from "./BotHealth.ts"
import { commandList, setAdminMenu } from "./CommandMenus.ts"
import { Filters } from "./Filters.ts"
import { describeError, type FlatwatchBot, makeFlatwatchBot } from "./FlatwatchBot.ts"
import { SessionStore } from "./SessionStore.ts"
import { Users } from "./Users.ts"

/**
 * The bot could not start. `Unauthorized`: Telegram rejected BOT_TOKEN (401), retrying will not
 * help; `Unreachable`: the Bot API could not be reached within the start-up deadline;
 * `Webhook`: the webhook server or `setWebhook` failed.
 */
export class BotStartError extends Data.TaggedError("BotStartError")<{
  readonly reason: "Unauthorized" | "Unreachable" | "Webhook"
  readonly message: string
  readonly cause?: unknown
}> {}

/** Long polling ended without being asked to (a revoked token, a conflicting poller, ...). */
export class BotPollingError extends Data.TaggedError("BotPollingError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface BotServerInfo {
  readonly mode: BotMode
  readonly botInfo: UserFromGetMe
  /** The port the webhook server listens on (webhook mode). */
  readonly webhookPort: Option.Option<number>
}

/** The updates the bot needs (message, buttons, payments, being blocked). */
export const ALLOWED_UPDATES = [
  "message",
  "callback_query",
  "my_chat_member",
  "pre_checkout_query",
] as const

const getMe = (flatwatch: FlatwatchBot) =>
  Effect.tryPromise({
    try: () => flatwatch.bot.api.getMe(),
    catch: (e) =>
      e instanceof GrammyError && (e.error_code === 401 || e.error_code === 404)
        ? new BotStartError({
            reason: "Unauthorized",
            message: `BOT_TOKEN was rejected by the Bot API (${e.error_code} ${e.description}); check the token from @BotFather`,
          })
        : new BotStartError({
            reason: "Unreachable",
            message: `the Bot API is not reachable: ${describeError(e)}`,
            cause: e,
          }),
  }).pipe(
    Effect.tapError((e) =>
      e.reason === "Unreachable" ? Effect.logWarning(`${e.message}; retrying`) : Effect.void,
    ),
    Effect.retry({
      schedule: Schedule.exponential("500 millis").pipe(Schedule.upTo("20 seconds")),
      while: (e) => e.reason === "Unreachable",
    }),
  )

const apiCall = <A>(what: string, call: () => Promise<A>) =>
  Effect.tryPromise({
    try: call,
    catch: (e) =>
      new BotStartError({
        reason: "Unreachable",
        message: `${what} failed: ${describeError(e)}`,
        cause: e,
      }),
  })

/**
 * The command menu in both languages (Russian for `ru` clients, English for everyone else),
 * then each admin's own menu with the admin commands added.
 */
const setCommands = (flatwatch: FlatwatchBot, adminIds: ReadonlyArray<number>) =>
  Effect.all([
    apiCall("setMyCommands", () => flatwatch.bot.api.setMyCommands(commandList("en", false))),
    apiCall("setMyCommands (ru)", () =>
      flatwatch.bot.api.setMyCommands(commandList("ru", false), { language_code: "ru" }),
    ),
  ]).pipe(
    Effect.zipRight(
      Effect.forEach(adminIds, (id) => setAdminMenu(flatwatch.bot.api, id), { discard: true }),
    ),
  )

/**
 * Stops taking updates (`stopIntake`) and waits for the handlers in flight, up to the drain
 * deadline; then interrupts them (their effects, waits and Bot API calls) and gives them a short
 * grace to end. It runs in a finalizer, which cannot be interrupted: every wait here is made
 * interruptible on purpose, or a handler stuck on a dead connection would hold the shutdown
 * past the runner's deadline.
 */
const drain = (
  flatwatch: FlatwatchBot,
  handlers: FiberSet.FiberSet,
  stopIntake: Effect.Effect<void> = Effect.void,
) =>
  Effect.gen(function* () {
    // One budget for the whole stop: taking no more updates and finishing those in hand share
    // it, so the bot stops inside it however the intake or the handlers are stuck.
    const deadline = flatwatch.drainTimeout
    const endsAt = Date.now() + Duration.toMillis(deadline)
    const left = () => Duration.millis(Math.max(0, endsAt - Date.now()))
    // Interrupted handlers get a tenth of it to end (their apology, their log line), and
    // another tenth once their calls are aborted.
    const grace = Duration.times(deadline, 0.1)
    const waitIdle = (within: Duration.Duration) =>
      Effect.promise(() => flatwatch.inFlight.drain()).pipe(
        Effect.interruptible,
        Effect.timeout(within),
        Effect.option,
      )
    yield* stopIntake.pipe(Effect.interruptible, Effect.timeout(left()), Effect.ignore)
    if (Option.isSome(yield* waitIdle(left()))) return
    yield* Effect.logWarning(
      `${flatwatch.inFlight.size} update(s) still in flight after the ${Duration.format(deadline)} drain deadline; interrupting them`,
    )
    // Their effects first (a query waiting on a stuck pool): the handlers then apologise to
    // their users; whatever still waits after that (a Bot API call Telegram does not answer,
    // the flood gate) is aborted. The interruption is not awaited: a fiber inside an
    // uninterruptible step (taking a connection from a stuck pool) ends only when the pool is
    // closed, which comes after this.
    yield* Effect.forkDaemon(FiberSet.clear(handlers))
    if (Option.isSome(yield* waitIdle(grace))) return
    flatwatch.abortCalls()
    if (Option.isNone(yield* waitIdle(grace)))
      yield* Effect.logWarning(
        `${flatwatch.inFlight.size} update(s) did not end after being interrupted; leaving them`,
      )
  })

/**
 * Long polling with `@grammyjs/runner` (updates handled concurrently; one user's in order, by
 * the bot's `sequentialize`). Runs until interrupted; if polling dies on its own it is logged
 * and restarted with backoff, except when Telegram rejects the token (401): then the component
 * reports itself fatal to its host (`ComponentFatal`), which stops it for the runner to restart. Stopping aborts the pending `getUpdates` and waits for the
 * handlers in flight.
 */
const poll = (flatwatch: FlatwatchBot, handlers: FiberSet.FiberSet) => {
  const options: RunOptions<Update> = {
    runner: {
      silent: true,
      fetch: { timeout: 30, allowed_updates: ALLOWED_UPDATES },
      // A failing getUpdates (network, 5xx) is retried 100 ms later, then 200, 300, ...: the
      // default doubles without limit, which left the bot deaf for as long again as Telegram
      // had been down (20 s after a 30 s outage, 10 min after 10 min).
      retryInterval: "quadratic",
    },
    sink: { concurrency: 500 },
  }
  const once = Effect.acquireUseRelease(
    Effect.sync(() => runPolling(flatwatch.bot, options)),
    (handle) =>
      Effect.tryPromise({
        try: () => handle.task() ?? Promise.resolve(),
        catch: (e) =>
          new BotPollingError({ message: `polling failed: ${describeError(e)}`, cause: e }),
      }).pipe(
        Effect.zipRight(Effect.fail(new BotPollingError({ message: "polling stopped by itself" }))),
      ),
    (handle) =>
      drain(
        flatwatch,
        handlers,
        Effect.tryPromise(() => (handle.isRunning() ? handle.stop() : Promise.resolve())).pipe(
          Effect.ignore,
        ),
      ),
  )
  return once.pipe(
    Effect.catchIf(
      (e) => isUnauthorized(e.cause),
      (e) =>
        // A token Telegram rejects will not be accepted by polling again: stop the component, so
        // that the runner restarts it with backoff (from `getMe`, which fails while the token
        // is rejected) and `/readyz` tells the operator. Unsupervised, keep retrying.
        ComponentFatal.report(
          `BOT_TOKEN was rejected by the Bot API while polling (${describeError(e.cause)}); check the token from @BotFather`,
        ).pipe(Effect.flatMap((reported) => (reported ? Effect.never : Effect.fail(e)))),
    ),
    Effect.tapError((e) => Effect.logError(`${e.message}; restarting long polling`)),
    Effect.retry(
      Schedule.exponential("1 second").pipe(Schedule.either(Schedule.spaced("1 minute"))),
    ),
  )
}

/** Telegram's answer to a revoked or unknown token (401, or 404 for a malformed one). */
const isUnauthorized = (e: unknown): boolean =>
  e instanceof GrammyError && (e.error_code === 401 || e.error_code === 404)

/** An update as it arrives over the webhook: anything with an integer `update_id`. */
const WebhookUpdate = Schema.Struct(
  { update_id: Schema.Int },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)
const decodeUpdate = Schema.decodeUnknownOption(WebhookUpdate)

const SECRET_HEADER = "x-telegram-bot-api-secret-token"

/** Constant-time comparison, so the secret cannot be guessed byte by byte from timings. */
const sameSecret = (given: string | null, expected: string): boolean => {
  if (given === null) return false
  const a = new TextEncoder().encode(given)
  const b = new TextEncoder().encode(expected)
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

/**
 * Webhook mode: `Bun.serve` on WEBHOOK_HOST:WEBHOOK_PORT answers POSTs to WEBHOOK_URL's path.
 * A request without the right `X-Telegram-Bot-Api-Secret-Token` gets 401 and reaches no
 * handler. Then `setWebhook` points Telegram at it. Stopping closes the server and waits for the
 * handlers in flight; the webhook stays set, so Telegram keeps updates until the bot is back.
 */
const serveWebhook = (
  flatwatch: FlatwatchBot,
  handlers: FiberSet.FiberSet,
  config: WebhookConfig,
) =>
  Effect.gen(function* () {
    const path = new URL(config.url).pathname
    const secret = Redacted.value(config.secret)
    const server = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          Bun.serve({
            hostname: config.host,
            port: config.port,
            fetch: async (req) => {
              if (!sameSecret(req.headers.get(SECRET_HEADER), secret)) {
                return new Response("Unauthorized", { status: 401 })
              }
              if (new URL(req.url).pathname !== path)
                return new Response("Not Found", { status: 404 })
              if (req.method !== "POST") return new Response("Method Not Allowed", { status: 405 })
              const update = decodeUpdate(await req.json().catch(() => undefined))
              if (Option.isNone(update)) return new Response("Bad Request", { status: 400 })
              try {
                await flatwatch.bot.handleUpdate(update.value as unknown as Update)
              } catch (e) {
                // Already logged by the error boundary; a non-2xx answer would make Telegram resend it.
                await flatwatch.run(Effect.logError(`webhook update failed: ${describeError(e)}`))
              }
              return new Response(null, { status: 200 })
            },
          }),
        catch: (e) =>
          new BotStartError({
            reason: "Webhook",
            message: `cannot listen on ${config.host}:${config.port} (WEBHOOK_HOST/WEBHOOK_PORT): ${describeError(e)}`,
            cause: e,
          }),
      }),
      (server) =>
        drain(
          flatwatch,
          handlers,
          Effect.promise(() => server.stop()),
        ).pipe(Effect.zipRight(Effect.logInfo("webhook server stopped"))),
    )
    yield* apiCall("setWebhook", () =>
      flatwatch.bot.api.setWebhook(config.url, {
        secret_token: secret,
        allowed_updates: ALLOWED_UPDATES,
        drop_pending_updates: false,
      }),
    ).pipe(Effect.mapError((e) => new BotStartError({ ...e, reason: "Webhook" })))
    return server.port ?? config.port
  })

/**
 * Starts the bot in the current scope: checks the token (`getMe`), sets the command menus, then
 * long-polls or serves the webhook until the scope closes. All handlers run on the runtime
 * captured here, so they see this component's `Database`, logger and services.
 */
export const start = (
  settings: BotSettings,
): Effect.Effect<BotServerInfo, BotStartError, Scope.Scope | BotServices> =>
  Effect.gen(function* () {
    // Every handler's effects run as fibers of this set, so that stopping can interrupt them.
    // The set has a scope of its own, closed without waiting: closing it waits for its fibers,
    // and one stuck in an uninterruptible step would hold the component's stop forever.
    const handlersScope = yield* Scope.make()
    yield* Effect.addFinalizer(() =>
      Effect.forkDaemon(Scope.close(handlersScope, Exit.void)).pipe(Effect.asVoid),
    )
    const handlers = yield* FiberSet.make().pipe(Scope.extend(handlersScope))
    const run = yield* FiberSet.runtimePromise(handlers)<BotServices>()
    const flatwatch = makeFlatwatchBot(settings, run)
    yield* registerProbe(() =>
      stallReason(
        {
          mode: settings.mode,
          polledAt: flatwatch.polledAt(),
          pending: flatwatch.inFlight.size,
          busySince: flatwatch.inFlight.busySince,
          lastDoneAt: flatwatch.inFlight.lastDoneAt,
        },
        Date.now(),
      ),
    )
    const botInfo = yield* getMe(flatwatch)
    flatwatch.bot.botInfo = botInfo
    yield* setCommands(flatwatch, settings.telegram.adminIds)
    if (settings.mode === "webhook" && Option.isSome(settings.webhook)) {
      const port = yield* serveWebhook(flatwatch, handlers, settings.webhook.value)
      yield* Effect.logInfo(`bot @${botInfo.username} receiving updates by webhook (port ${port})`)
      return { mode: settings.mode, botInfo, webhookPort: Option.some(port) }
    }
    yield* apiCall("deleteWebhook", () => flatwatch.bot.api.deleteWebhook())
    yield* Effect.forkScoped(poll(flatwatch, handlers))
    yield* Effect.logInfo(`bot @${botInfo.username} receiving updates by long polling`)
    return { mode: settings.mode, botInfo, webhookPort: Option.none() }
  }).pipe(Effect.withSpan("BotServer.start"))

/** Every service the handlers use, built on the component's `Database`. */
export const servicesLayer = Layer.mergeAll(
  SessionStore.Default,
  Users.Default,
  Filters.Default,
  AdminQueries.Default,
  Subscriptions.Default,
  Plans.Default,
  Payments.Default,
)

/** The running bot, for tests and embedders that want to know its mode, identity and port. */
export class BotServer extends Context.Tag("@flatwatch/bot/BotServer")<BotServer, BotServerInfo>() {
  static readonly layer = Layer.scoped(
    BotServer,
    Effect.flatMap(BotConfig, start).pipe(Effect.annotateLogs("component", "bot")),
  ).pipe(Layer.provide(Layer.merge(servicesLayer, Markets.layerConfig)))
}
