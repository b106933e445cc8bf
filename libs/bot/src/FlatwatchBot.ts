import { sequentialize } from "@grammyjs/runner"
import { Cause, Duration, Effect, Metric, Option, Redacted, Runtime } from "effect"
import { Bot, type BotError, Context, GrammyError, HttpError, session } from "grammy"
import type { UserFromGetMe } from "grammy/types"
import type { BotSettings } from "./BotConfig.ts"
import type { BotContext, BotFlavor, FeatureDeps, RunEffect } from "./BotContext.ts"
import { type Action, parseCallbackData } from "./CallbackData.ts"
import { languageFromTelegram } from "./Format.ts"
import { AdminFeature } from "./features/AdminFeature.ts"
import { EditorFeature } from "./features/EditorFeature.ts"
import { FallbackFeature } from "./features/FallbackFeature.ts"
import { FiltersFeature } from "./features/FiltersFeature.ts"
import { MembershipFeature } from "./features/MembershipFeature.ts"
import { MuteFeature } from "./features/MuteFeature.ts"
import { SettingsFeature } from "./features/SettingsFeature.ts"
import { StartFeature } from "./features/StartFeature.ts"
import { SubscriptionFeature } from "./features/SubscriptionFeature.ts"
import { dropUnfitUpdates } from "./IncomingUpdate.ts"
import { messages } from "./Messages.ts"
import { FloodGate, replyRetry } from "./ReplyRetry.ts"
import { emptySession } from "./Session.ts"
import { sessionStorage } from "./SessionStore.ts"
import { sessionKey, Users } from "./Users.ts"

export const updatesTotal = Metric.counter("bot_updates_total", {
  description: "Updates the bot handled",
  incremental: true,
})
export const handlerErrorsTotal = Metric.counter("bot_handler_errors_total", {
  description: "Updates whose handler failed (the user got an apology)",
  incremental: true,
})

/** Bot tokens in URLs (`/bot<token>/`) never reach a log line. */
export const redactToken = (text: string): string =>
  text.replace(/bot\d+:[A-Za-z0-9_-]+/g, "bot<redacted>")

/** A one-line description of what a handler threw, safe to log. */
export const describeError = (error: unknown): string => {
  if (Runtime.isFiberFailure(error)) {
    return redactToken(Cause.pretty(error[Runtime.FiberFailureCauseId]))
  }
  if (error instanceof GrammyError)
    return `Bot API ${error.method}: ${error.error_code} ${error.description}`
  if (error instanceof HttpError) {
    const inner = error.error instanceof Error ? error.error.message : String(error.error)
    return redactToken(`${error.message}: ${inner}`)
  }
  return redactToken(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
}

/** The update's kind (`message`, `callback_query`, ...) for logs and metrics. */
const updateType = (ctx: Context) =>
  Object.keys(ctx.update).find((k) => k !== "update_id") ?? "unknown"

/**
 * Builds the Context class of this bot: every context carries the one runtime bridge (`run`)
 * and whether the sender is an admin; the middleware fills in the rest.
 */
const contextClass = (run: RunEffect, adminIds: ReadonlyArray<number>) => {
  const admins = new Set(adminIds)
  return class FlatwatchContext extends Context implements BotFlavor {
    /** Installed by the session middleware (a getter/setter pair on the instance). */
    declare session: BotContext["session"]
    readonly run = run
    user: BotFlavor["user"] = undefined
    // Until the user's row is read: Telegram's language (also what an early failure apologises in).
    lang: BotFlavor["lang"] = languageFromTelegram(this.from?.language_code)
    t: BotFlavor["t"] = messages(this.lang)
    action: Action | undefined = undefined
    callbackAnswered = false
    callbackAnswer: BotFlavor["callbackAnswer"] = undefined
    get isAdmin(): boolean {
      return this.from !== undefined && admins.has(this.from.id)
    }
  }
}

/**
 * Tracks handlers in flight, so that stopping the bot can wait for them to finish and the
 * health probe can tell handlers that progress from handlers that hang.
 */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>()
  /** When the bot last went from idle to busy (epoch ms). */
  busySince = Date.now()
  /** When a handler last finished (epoch ms). */
  lastDoneAt = Date.now()
  track<A>(p: Promise<A>): Promise<A> {
    if (this.running.size === 0) this.busySince = Date.now()
    this.running.add(p)
    const done = () => {
      this.running.delete(p)
      this.lastDoneAt = Date.now()
    }
    p.then(done, done)
    return p
  }
  get size(): number {
    return this.running.size
  }
  /** Resolves when every handler running now has finished (failures included). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running])
  }
}

export interface FlatwatchBot {
  readonly bot: Bot<BotContext>
  readonly inFlight: InFlight
  /** How long stopping waits for `inFlight` before interrupting it (`BotSettings.drainTimeout`). */
  readonly drainTimeout: Duration.Duration
  /** When a `getUpdates` last completed ok (epoch ms; the bot's creation until then). */
  readonly polledAt: () => number
  /**
   * Ends every wait and Bot API call of the handlers at once (the bot is stopping and the
   * handlers still running have had their time).
   */
  readonly abortCalls: () => void
  /** The bot's one bridge into Effect (also for the webhook server's log lines). */
  readonly run: RunEffect
}

/**
 * The grammY bot with all of Flatwatch's features. Building it makes no network call; the
 * component starts it (`BotServer`). Order of middleware:
 * per-user sequencing (one user's updates in order, different users concurrently) → one error
 * boundary → session (PostgreSQL) → sender's language → features, one Composer each → fallback.
 */
export const makeFlatwatchBot = (
  settings: BotSettings,
  run: RunEffect,
  botInfo?: UserFromGetMe,
): FlatwatchBot => {
  const { token, apiRoot, adminIds } = settings.telegram
  const bot = new Bot<BotContext>(Redacted.value(token), {
    // A backstop for every call, long polls (30 s) included; replies have TELEGRAM_TIMEOUT.
    client: { apiRoot, fetch: globalThis.fetch, timeoutSeconds: 60 },
    ContextConstructor: contextClass(run, adminIds),
    ...(botInfo === undefined ? {} : { botInfo }),
  })
  const inFlight = new InFlight()
  const deps: FeatureDeps = { settings, run }

  // Log failed Bot API calls of the bot's own loop (long polling), without the token.
  let polledAt = Date.now()
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const result = await prev(method, payload, signal)
      if (result.ok && method === "getUpdates") polledAt = Date.now()
      if (!result.ok && method === "getUpdates") {
        await run(
          Effect.logWarning(`getUpdates failed: ${result.error_code} ${result.description}`),
        )
      }
      return result
    } catch (e) {
      if (method === "getUpdates" && signal?.aborted !== true) {
        await run(Effect.logWarning(`getUpdates failed: ${describeError(e)}`))
      }
      throw e
    }
  })

  // Replies survive a short outage of Telegram (429, 5xx, network), within Telegram's deadlines;
  // a 429 pauses every reply of the bot (one gate).
  const stopping = new AbortController()
  bot.api.config.use(
    replyRetry({
      attemptTimeoutMs: Duration.toMillis(settings.telegram.callTimeout),
      gate: new FloodGate(),
      stop: stopping.signal,
      onRetry: (method, reason, delayMs) =>
        run(
          Effect.logWarning(`${method} failed (${redactToken(reason)}); retrying in ${delayMs} ms`),
        ),
    }),
  )

  bot.use((_ctx, next) => inFlight.track(next()))
  // Before anything reads the update (sequencing keys on its sender): an update that does not
  // fit what Telegram sends is answered where possible and dropped here, never reaching SQL.
  bot.use(dropUnfitUpdates({ log: run }))
  bot.use(sequentialize((ctx: Context) => (ctx.from ?? ctx.chat)?.id.toString()))

  // Only private chats (a group the bot was added to gets no answers), behind one boundary; a
  // button pressed in a group is still answered, so it does not spin.
  const boundary = bot.errorBoundary(onError)
  boundary.filter(
    (ctx) =>
      ctx.callbackQuery !== undefined && ctx.chat !== undefined && ctx.chat.type !== "private",
    (ctx) => ctx.answerCallbackQuery(),
  )
  const guarded = boundary.filter((ctx) => ctx.chat === undefined || ctx.chat.type === "private")

  guarded.use(async (ctx, next) => {
    // Every pressed button gets an answer: the one a handler chose, else an empty one.
    if (ctx.callbackQuery !== undefined) {
      ctx.api.config.use((prev, method, payload, signal) => {
        if (method === "answerCallbackQuery") ctx.callbackAnswered = true
        return prev(method, payload, signal)
      })
      ctx.action = Option.getOrUndefined(parseCallbackData(ctx.callbackQuery.data))
    }
    await next()
    // Answered last, so that the answer also says "this press is fully handled".
    if (ctx.callbackQuery !== undefined && !ctx.callbackAnswered) {
      const a = ctx.callbackAnswer
      await ctx.answerCallbackQuery(
        a?.text === undefined ? {} : { text: a.text, show_alert: a.alert },
      )
    }
  })

  guarded.use(
    session({
      storage: sessionStorage(run),
      initial: emptySession,
      getSessionKey: (ctx) => (ctx.from === undefined ? undefined : sessionKey(ctx.from.id)),
    }),
  )

  guarded.use(async (ctx, next) => {
    const from = ctx.from
    const counted = Metric.increment(Metric.tagged(updatesTotal, "type", updateType(ctx)))
    if (from === undefined) await run(counted)
    else {
      ctx.user = await run(
        Effect.zipRight(
          counted,
          Effect.flatMap(Users, (users) => users.get(from.id)),
        ),
      )
      ctx.lang = ctx.user?.language ?? languageFromTelegram(from.language_code)
      ctx.t = messages(ctx.lang)
      // A command abandons any typed input the bot was waiting for.
      if (
        ctx.session.awaiting !== undefined &&
        ctx.message?.entities?.[0]?.type === "bot_command"
      ) {
        const { awaiting: _, ...rest } = ctx.session
        ctx.session = rest
      }
    }
    await next()
  })

  guarded.use(
    MembershipFeature(deps),
    StartFeature(deps),
    FiltersFeature(deps),
    EditorFeature(deps),
    MuteFeature(deps),
    SettingsFeature(deps),
    SubscriptionFeature(deps),
    AdminFeature(deps),
    FallbackFeature(deps),
  )

  // The boundary above handles everything; this only catches a failure of the boundary itself.
  bot.catch((err) =>
    run(
      Effect.logError(
        `update ${err.ctx.update.update_id} failed outside the error boundary: ${describeError(err.error)}`,
      ),
    ),
  )

  return {
    bot,
    inFlight,
    run,
    drainTimeout: settings.drainTimeout ?? Duration.seconds(10),
    polledAt: () => polledAt,
    abortCalls: () => stopping.abort(),
  }
}

/** The one error boundary: an apology to the user, a log line, and the bot carries on. */
const onError = async (err: BotError<BotContext>) => {
  const ctx = err.ctx
  const t = ctx.t
  await ctx.run(
    Effect.logError(`handling ${updateType(ctx)} failed: ${describeError(err.error)}`).pipe(
      Effect.annotateLogs({ update_id: ctx.update.update_id }),
      Effect.zipRight(Metric.increment(handlerErrorsTotal)),
    ),
  )
  try {
    if (ctx.callbackQuery !== undefined && !ctx.callbackAnswered) {
      await ctx.answerCallbackQuery({ text: t.error, show_alert: true })
    } else if (ctx.chat !== undefined) {
      await ctx.reply(t.error)
    }
  } catch (e) {
    await ctx.run(Effect.logWarning(`could not apologise for a failed update: ${describeError(e)}`))
  }
}
