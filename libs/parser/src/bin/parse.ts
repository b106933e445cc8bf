/**
 * `bun run parse --source <id> [--config <file>] <page-file>`: parses a saved page and prints the
 * result as JSON (exit 0), or the usage and the problem (exit 2). See `ParseCommand.ts`.
 */
import { Effect } from "effect"
import { parseCommand, USAGE } from "../ParseCommand.ts"

const exit = await Effect.runPromise(
  parseCommand(process.argv.slice(2)).pipe(
    Effect.match({
      onSuccess: (output) => {
        process.stdout.write(`${JSON.stringify(output)}\n`)
        return 0
      },
      onFailure: (error) => {
        process.stderr.write(`parse: ${error.message}\n\n${USAGE}\n`)
        return 2
      },
    }),
  ),
)
process.exitCode = exit
