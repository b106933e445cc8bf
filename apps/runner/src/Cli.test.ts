import { expect, test } from "bun:test"
import { Either } from "effect"
import { parseArgs } from "./Cli.ts"

test("no arguments run every component", () => {
  expect(parseArgs([])).toEqual(
    Either.right({ _tag: "Run", only: ["bot", "parser", "subscriptions"] }),
  )
})

test("--only takes any subset, in either spelling, without duplicates", () => {
  expect(parseArgs(["--only", "parser"])).toEqual(Either.right({ _tag: "Run", only: ["parser"] }))
  expect(parseArgs(["--only=bot, subscriptions,bot"])).toEqual(
    Either.right({ _tag: "Run", only: ["bot", "subscriptions"] }),
  )
})

test("--help wins; bad arguments say what is wrong", () => {
  expect(parseArgs(["--only", "parser", "-h"])).toEqual(Either.right({ _tag: "Help" }))
  expect(parseArgs(["--only"])).toEqual(Either.left("--only needs a list of components"))
  expect(parseArgs(["--only", ","])).toEqual(Either.left("--only needs a list of components"))
  expect(parseArgs(["--only", "mailer"])).toEqual(
    Either.left("unknown component: mailer (known: bot, parser, subscriptions)"),
  )
  expect(parseArgs(["--verbose"])).toEqual(Either.left("unknown argument: --verbose"))
})
