/**
 * How a running component says it cannot go on: a failure that no retry inside the component
 * will fix (Telegram rejecting the bot's token while it polls, say). The host that runs the
 * component (the runner's worker) provides it: reporting stops the component (its scope closes,
 * so its finalizers run) and the runner restarts it with backoff, shows it in `/readyz` and
 * counts it in `/metrics`.
 *
 * It lives beside `Database` because every component is built on both. Without a host (a test,
 * a library user embedding one component) nothing provides it, and `report` answers `false`:
 * the caller then carries on as it would without supervision (e.g. keeps retrying).
 */
import { Context, Effect, Option } from "effect"

export class ComponentFatal extends Context.Tag("@flatwatch/db/ComponentFatal")<
  ComponentFatal,
  {
    /** Stops the component with `message` as its error. Returns once the stop is requested. */
    readonly report: (message: string) => Effect.Effect<void>
  }
>() {}

/**
 * Reports `message` as fatal to the component's host when there is one (`true`), or does
 * nothing when the component runs unsupervised (`false`).
 */
export const report = (message: string): Effect.Effect<boolean> =>
  Effect.flatMap(Effect.serviceOption(ComponentFatal), (host) =>
    Option.match(host, {
      onNone: () => Effect.succeed(false),
      onSome: (h) => Effect.as(h.report(message), true),
    }),
  )
