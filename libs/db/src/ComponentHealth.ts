/**
 * How a running component tells its host whether it is doing its work, beyond being alive: each
 * probe answers with a reason when the component is stuck (a pool whose queries get no answer,
 * a bot that takes no updates), or undefined when all is well. The host (the runner's worker)
 * asks every probe at each heartbeat: `/readyz` shows the reasons, and the runner restarts a
 * component that stays unready for `UNREADY_RESTART_AFTER`.
 *
 * Like `ComponentFatal`, it lives beside `Database` because every component is built on both;
 * without a host nothing provides it and registering does nothing.
 */
import { Context, Effect, Option, type Scope } from "effect"

/** A reason the component is not ready right now, or undefined. */
export type Probe = () => string | undefined

export class ComponentHealth extends Context.Tag("@flatwatch/db/ComponentHealth")<
  ComponentHealth,
  {
    /** Adds `probe` until the current scope closes. */
    readonly register: (probe: Probe) => Effect.Effect<void, never, Scope.Scope>
  }
>() {
  /** A host's implementation: a set of probes, asked together by `unready`. */
  static readonly makeRegistry = () => {
    const probes = new Set<Probe>()
    const service = {
      register: (probe: Probe) =>
        Effect.acquireRelease(
          Effect.sync(() => probes.add(probe)),
          () => Effect.sync(() => probes.delete(probe)),
        ).pipe(Effect.asVoid),
    }
    /** Every reason given now, joined; undefined when every probe is content. */
    const unready = (): string | undefined => {
      const reasons = [...probes].map((p) => p()).filter((r): r is string => r !== undefined)
      return reasons.length === 0 ? undefined : reasons.join("; ")
    }
    return { service, unready }
  }
}

/** Registers `probe` with the component's host, if there is one, until the scope closes. */
export const registerProbe = (probe: Probe): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.serviceOption(ComponentHealth), (host) =>
    Option.match(host, {
      onNone: () => Effect.void,
      onSome: (h) => h.register(probe),
    }),
  )
