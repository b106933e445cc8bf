import { Database } from "@flatwatch/db/Database"
import { Effect, Layer } from "effect"

/** The subscriptions component (placeholder until the worker lands): proves its pool works. */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    yield* Database.sql((sql) => sql`select 1`)
    yield* Effect.logInfo("subscriptions component started")
  }),
)
