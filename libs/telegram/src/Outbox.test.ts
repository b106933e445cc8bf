import { afterAll, expect, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import { users } from "@flatwatch/db/schema"
import * as TestDatabase from "@flatwatch/db/TestDatabase"
import { Effect, ManagedRuntime, TestClock, TestContext } from "effect"
import { enqueue } from "./Outbox.ts"

const runtime = ManagedRuntime.make(TestDatabase.layer("outbox-test"))
afterAll(() => runtime.dispose())

test("enqueue inserts once per dedupe key, with the payload and the clock's time", async () => {
  const T = Date.UTC(2030, 0, 1)
  const result = await runtime.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(T)
      yield* Database.query((db) => db.insert(users).values({ id: 5, chatId: 5 }))
      const first = yield* enqueue([
        {
          userId: 5,
          chatId: 5,
          kind: "notice",
          dedupeKey: "a",
          payload: { text: "<b>hi</b> & 'x'" },
        },
        {
          userId: null,
          chatId: 99,
          kind: "admin_notice",
          dedupeKey: "b",
          payload: { text: "admin" },
        },
      ])
      const again = yield* enqueue([
        { userId: 5, chatId: 5, kind: "notice", dedupeKey: "a", payload: { text: "changed" } },
        { userId: 5, chatId: 5, kind: "reminder", dedupeKey: "c", notBefore: new Date(T + 1000) },
      ])
      const rows = yield* Database.query((db) =>
        db.query.deliveries.findMany({ orderBy: (d, { asc }) => asc(d.dedupeKey) }),
      )
      return { first, again, rows }
    }).pipe(Effect.provide(TestContext.TestContext)),
  )
  expect(result.first).toBe(2)
  expect(result.again).toBe(1)
  expect(result.rows.map((r) => [r.dedupeKey, r.kind, r.chatId, r.userId, r.status])).toEqual([
    ["a", "notice", 5, 5, "pending"],
    ["b", "admin_notice", 99, null, "pending"],
    ["c", "reminder", 5, 5, "pending"],
  ])
  expect(result.rows[0]?.payload).toEqual({ text: "<b>hi</b> & 'x'" })
  expect(result.rows[0]?.nextAttemptAt).toEqual(new Date(T))
  expect(result.rows[2]?.nextAttemptAt).toEqual(new Date(T + 1000))
})

test("enqueue of nothing touches nothing", async () => {
  expect(await runtime.runPromise(enqueue([]))).toBe(0)
})
