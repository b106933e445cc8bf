import { Either } from "effect"
import { COMPONENT_NAMES, type ComponentName, isComponentName } from "./Components.ts"

export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Run"; readonly only: ReadonlyArray<ComponentName> }

export const usage = `Usage: bun run apps/runner [--only <components>] [--help]

Runs Flatwatch: the bot, parser and subscriptions components, each in its own worker,
with health checks and metrics on HTTP_PORT.

Options:
  --only <list>  comma-separated subset of: ${COMPONENT_NAMES.join(", ")}
                 (run each component in its own process, against one database)
  -h, --help     show this help

Configuration comes from the environment (and .env); see README.md. BOT_TOKEN is required.
Without DATABASE_URL an embedded PostgreSQL is started in ./.data/postgres.
Endpoints: GET /healthz, GET /readyz, GET /metrics.`

/** Parses the runner's arguments; `Left` carries a one-line reason (print it with the usage). */
export const parseArgs = (argv: ReadonlyArray<string>): Either.Either<Command, string> => {
  let only: ReadonlyArray<ComponentName> = COMPONENT_NAMES
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "-h" || arg === "--help") return Either.right({ _tag: "Help" })
    let value: string | undefined
    if (arg === "--only") {
      value = argv[++i]
      if (value === undefined) return Either.left("--only needs a list of components")
    } else if (arg.startsWith("--only=")) {
      value = arg.slice("--only=".length)
    } else {
      return Either.left(`unknown argument: ${arg}`)
    }
    const names = value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
    if (names.length === 0) return Either.left("--only needs a list of components")
    const unknown = names.filter((n) => !isComponentName(n))
    if (unknown.length > 0) {
      return Either.left(
        `unknown component: ${unknown.join(", ")} (known: ${COMPONENT_NAMES.join(", ")})`,
      )
    }
    only = [...new Set(names)] as ComponentName[]
  }
  return Either.right({ _tag: "Run", only })
}
