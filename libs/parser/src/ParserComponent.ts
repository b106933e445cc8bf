import { Database } from "@flatwatch/db/Database"
import { Effect, Layer } from "effect"

/** The parser component (placeholder until the scrape side lands): proves its pool works. */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    yield* Database.sql((sql) => sql`select 1`)
    yield* Effect.logInfo("parser component started")
  }),
)
