import { Database } from "@flatwatch/db/Database"
import { browserSessions } from "@flatwatch/db/schema"
import { eq, sql } from "drizzle-orm"
import { Context, Effect, Layer, Option, Ref, Schema } from "effect"
import type { FetchVia } from "./FetchMode.ts"

/** A cookie as kept between runs (the fields Chromium needs to set it again). */
export const StoredCookie = Schema.Struct({
  name: Schema.String,
  value: Schema.String,
  domain: Schema.String,
  path: Schema.String,
  /** Seconds since the epoch; -1 for a session cookie. */
  expires: Schema.Number,
  httpOnly: Schema.optionalWith(Schema.Boolean, { exact: true }),
  secure: Schema.optionalWith(Schema.Boolean, { exact: true }),
  sameSite: Schema.optionalWith(Schema.Literal("Strict", "Lax", "None"), { exact: true }),
})
export type StoredCookie = typeof StoredCookie.Type

/** What a source's browser session keeps: its cookies and each origin's local storage. */
export const BrowserSessionState = Schema.Struct({
  cookies: Schema.Array(StoredCookie),
  localStorage: Schema.Record({
    key: Schema.String,
    value: Schema.Record({ key: Schema.String, value: Schema.String }),
  }),
})
export type BrowserSessionState = typeof BrowserSessionState.Type

export const emptySession: BrowserSessionState = { cookies: [], localStorage: {} }

const decodeSession = Schema.decodeUnknownOption(BrowserSessionState)

/**
 * Where sessions live between runs and restarts. Never fails: a session that cannot be read is
 * an empty one (the site may challenge again), one that cannot be saved is logged.
 */
export class BrowserSessionStore extends Context.Tag("@flatwatch/parser/BrowserSessionStore")<
  BrowserSessionStore,
  {
    readonly load: (source: string) => Effect.Effect<BrowserSessionState>
    readonly save: (source: string, session: BrowserSessionState) => Effect.Effect<void>
  }
>() {
  /** Sessions in the `browser_sessions` table (one row per source). */
  static readonly layerDatabase: Layer.Layer<BrowserSessionStore, never, Database> = Layer.effect(
    BrowserSessionStore,
    Effect.gen(function* () {
      const database = yield* Database
      const withDb = Effect.provideService(Database, database)
      return {
        load: (source) =>
          Database.query((db) =>
            db
              .select({
                cookies: browserSessions.cookies,
                localStorage: browserSessions.localStorage,
              })
              .from(browserSessions)
              .where(eq(browserSessions.source, source)),
          ).pipe(
            Effect.map(([row]) =>
              row === undefined
                ? emptySession
                : Option.getOrElse(decodeSession(row), () => emptySession),
            ),
            Effect.catchAll((error) =>
              Effect.logWarning(
                `reading the browser session failed, starting a new one: ${error.message}`,
              ).pipe(Effect.as(emptySession)),
            ),
            withDb,
          ),
        save: (source, session) =>
          Database.query((db) =>
            db
              .insert(browserSessions)
              .values({ source, cookies: session.cookies, localStorage: session.localStorage })
              .onConflictDoUpdate({
                target: browserSessions.source,
                set: {
                  cookies: session.cookies,
                  localStorage: session.localStorage,
                  updatedAt: sql`now()`,
                },
              }),
          ).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`saving the browser session failed: ${error.message}`),
            ),
            withDb,
          ),
      }
    }),
  )

  /** Sessions in memory, for one process (the ops command, tests, benchmarks). */
  static readonly layerMemory: Layer.Layer<BrowserSessionStore> = Layer.effect(
    BrowserSessionStore,
    Effect.map(Ref.make(new Map<string, BrowserSessionState>()), (ref) => ({
      load: (source) =>
        Effect.map(Ref.get(ref), (sessions) => sessions.get(source) ?? emptySession),
      save: (source, session) =>
        Ref.update(ref, (sessions) => new Map(sessions).set(source, session)),
    })),
  )
}

/**
 * Records what an `auto` source fetches with now, in the current transaction. Returns the
 * previous value when this is a change (`http` for a source never recorded), none otherwise.
 */
export const recordFetchVia = (source: string, via: FetchVia, at: Date) =>
  Effect.gen(function* () {
    const [row] = yield* Database.query((db) =>
      db
        .select({ via: browserSessions.fetchVia })
        .from(browserSessions)
        .where(eq(browserSessions.source, source)),
    )
    const before: FetchVia = row?.via === "browser" ? "browser" : "http"
    if (before === via) return Option.none<FetchVia>()
    yield* Database.query((db) =>
      db
        .insert(browserSessions)
        .values({ source, fetchVia: via, fetchViaSince: at })
        .onConflictDoUpdate({
          target: browserSessions.source,
          set: { fetchVia: via, fetchViaSince: at, updatedAt: at },
        }),
    )
    return Option.some(before)
  })
