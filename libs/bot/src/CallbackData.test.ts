import { expect, test } from "bun:test"
import { Option, Schema } from "effect"
import { type Action, CallbackData, callbackData, parseCallbackData } from "./CallbackData.ts"

const samples: ReadonlyArray<Action> = [
  { _tag: "menu", screen: "filters" },
  { _tag: "fnew" },
  { _tag: "flt", op: "delok", filterId: 2_147_483_647 },
  { _tag: "e.step", step: "priceMax" },
  { _tag: "e.mkt", market: "dubai" },
  { _tag: "e.dist", index: 18 },
  { _tag: "e.room", rooms: 0 },
  { _tag: "e.per", period: "yearly" },
  { _tag: "e.fur", furnishing: "unfurnished" },
  { _tag: "e.min", price: 999_999_999 },
  { _tag: "e.max", price: 15_000 },
  { _tag: "e.any", field: "periods" },
  { _tag: "e.name" },
  { _tag: "e.save" },
  { _tag: "e.cancel" },
  { _tag: "mute", filterId: 12 },
  { _tag: "unmute", filterId: 12 },
  { _tag: "lang", language: "ru" },
  { _tag: "buy", plan: "month" },
  { _tag: "del", answer: "yes" },
  { _tag: "bc", answer: "send", broadcastId: "a1b2c3d4e5f6a7b8" },
]

test("every action fits Telegram's 64 bytes and reads back as itself", () => {
  for (const action of samples) {
    const wire = callbackData(action)
    expect(new TextEncoder().encode(wire).length).toBeLessThanOrEqual(64)
    expect(parseCallbackData(wire)).toEqual(Option.some(action))
    expect(wire).toBe(Schema.encodeSync(CallbackData)(action))
  }
  expect(() => callbackData({ _tag: "bc", answer: "send", broadcastId: "x".repeat(70) })).toThrow(
    "64 bytes",
  )
})

test("the wire format is the contract with other components (mute, buy)", () => {
  expect(callbackData({ _tag: "mute", filterId: 42 })).toBe("mute:42")
  expect(callbackData({ _tag: "buy", plan: "week" })).toBe("buy:week")
  expect(parseCallbackData("mute:42")).toEqual(Option.some({ _tag: "mute", filterId: 42 }))
})

test("anything else is refused", () => {
  for (const bad of [
    "",
    "mute",
    "mute:",
    "mute:-1",
    "mute:1e3",
    "mute:0x10",
    "mute: 1",
    "mute:1:2",
    "mute:99999999999",
    "flt:destroy:1",
    "e.room:6",
    "e.dist:100",
    "lang:de",
    "buy:year",
    "bc:send:UPPER",
    "x".repeat(65),
    "menu:main\u0000",
    42,
    null,
  ]) {
    expect(parseCallbackData(bad)).toEqual(Option.none())
  }
})
