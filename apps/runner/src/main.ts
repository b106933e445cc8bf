/**
 * `bun run apps/runner [--only bot,parser,subscriptions]`: composition only. Exit codes: 0 after
 * a clean shutdown, 1 when start-up fails (port taken, database unreachable), 2 for a bad
 * argument or configuration value, 3 when a worker missed the shutdown deadline.
 */
import { Cause, Deferred, Effect, Either, Exit, Fiber, Layer, LogLevel, Option } from "effect"
import { parseArgs, usage } from "./Cli.ts"
import { formatConfigError, isConfigError } from "./ConfigErrors.ts"
import { LoggingConfig, loggerLayer } from "./Logging.ts"
import { InvalidConfiguration, run } from "./Runner.ts"

const command = parseArgs(process.argv.slice(2))
if (Either.isLeft(command)) {
  process.stderr.write(`flatwatch: ${command.left}\n\n${usage}\n`)
  process.exit(2)
}
if (command.right._tag === "Help") {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}

const shutdownSignal = Effect.runSync(Deferred.make<void>())
let started = false

const logging = Layer.unwrapEffect(Effect.map(LoggingConfig, loggerLayer)).pipe(
  Layer.catchAll(() => loggerLayer({ level: LogLevel.Info, format: "pretty" })),
)

const program = Effect.scoped(
  run({ only: command.right.only, shutdownSignal, onStarted: () => (started = true) }),
).pipe(Effect.annotateLogs("component", "runner"), Effect.provide(logging))

const fiber = Effect.runFork(program)

let signals = 0
const onSignal = (signal: NodeJS.Signals) => {
  signals += 1
  if (signals > 1) {
    process.stderr.write(`flatwatch: second ${signal}, exiting now\n`)
    process.exit(130)
  }
  if (started) Deferred.unsafeDone(shutdownSignal, Exit.void)
  else Effect.runFork(Fiber.interrupt(fiber))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

const exit = await Effect.runPromise(Fiber.await(fiber))
if (Exit.isSuccess(exit)) {
  if (exit.value.timedOut.length > 0) {
    process.stderr.write(
      `flatwatch: shutdown deadline missed by ${exit.value.timedOut.join(", ")}; workers terminated\n`,
    )
    process.exit(3)
  }
  process.exit(0)
}
if (Cause.isInterruptedOnly(exit.cause)) process.exit(0)
const failure = Cause.failureOption(exit.cause)
if (Option.isSome(failure)) {
  const error = failure.value
  if (isConfigError(error)) {
    process.stderr.write(`flatwatch: configuration error: ${formatConfigError(error)}\n`)
    process.exit(2)
  }
  if (error instanceof InvalidConfiguration) {
    process.stderr.write(`flatwatch: configuration error: ${error.message}\n`)
    process.exit(2)
  }
  const message =
    error !== null && typeof error === "object" && "message" in error
      ? String(error.message)
      : String(error)
  process.stderr.write(`flatwatch: ${message}\n`)
  process.exit(1)
}
process.stderr.write(`flatwatch: unexpected failure\n${Cause.pretty(exit.cause)}\n`)
process.exit(1)
