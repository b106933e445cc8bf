/**
 * `bun run parse --source <id> [--config <file>] <page-file>...`: parses saved pages and prints
 * the result as JSON with a short report per page on stderr (exit 0), the usage for `--help`
 * (exit 0), or the usage and the problem (exit 2). See `ParseCommand.ts`.
 */
import { Effect } from "effect"
import { describeOutput, parseCommand, USAGE } from "../ParseCommand.ts"

const exit = await Effect.runPromise(
  parseCommand(process.argv.slice(2)).pipe(
    Effect.match({
      onSuccess: (run) => {
        if (run._tag === "Help") {
          process.stdout.write(`${USAGE}\n`)
          return 0
        }
        const [only] = run.pages
        const document = run.pages.length === 1 && only !== undefined ? only : { pages: run.pages }
        process.stdout.write(`${JSON.stringify(document)}\n`)
        process.stderr.write(`${run.pages.map(describeOutput).join("\n")}\n`)
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
