import { type Option, ParseResult, Schema } from "effect"
import { EditorStep, Furnishing, RentPeriod } from "./Session.ts"

/**
 * Inline-button callback data: a tagged union of actions, written on the wire as
 * `<tag>:<field>:<field>` (ASCII, at most 64 bytes, Telegram's limit). Every press is decoded with
 * this schema before anything looks at it; a press that does not decode is refused. Decoding says
 * nothing about authorisation: handlers still check that the presser owns what a button names.
 */

/** A non-negative integer written in plain decimal digits (no signs, exponents or spaces). */
const Int = (max: number) =>
  Schema.compose(
    Schema.String.pipe(Schema.pattern(/^(0|[1-9][0-9]{0,9})$/)),
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, max)),
  )
const Id = Int(2_147_483_647)
const Price = Int(999_999_999)

export const Screen = Schema.Literal("main", "filters", "sub", "lang", "help")
export type Screen = typeof Screen.Type

export const FilterOp = Schema.Literal("open", "edit", "ren", "pause", "resume", "del", "delok")
export type FilterOp = typeof FilterOp.Type

/** A draft field that "any" clears. */
export const DraftField = Schema.Literal("districts", "rooms", "periods", "min", "max")
export type DraftField = typeof DraftField.Type

export const Menu = Schema.TaggedStruct("menu", { screen: Screen })
export const NewFilter = Schema.TaggedStruct("fnew", {})
export const FilterAction = Schema.TaggedStruct("flt", { op: FilterOp, filterId: Id })
export const EditorGo = Schema.TaggedStruct("e.step", { step: EditorStep })
export const EditorMarket = Schema.TaggedStruct("e.mkt", {
  market: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_-]{0,31}$/)),
})
export const EditorDistrict = Schema.TaggedStruct("e.dist", { index: Int(99) })
export const EditorRoom = Schema.TaggedStruct("e.room", { rooms: Int(5) })
export const EditorPeriod = Schema.TaggedStruct("e.per", { period: RentPeriod })
export const EditorFurnishing = Schema.TaggedStruct("e.fur", {
  furnishing: Schema.Union(Furnishing, Schema.Literal("any")),
})
export const EditorMin = Schema.TaggedStruct("e.min", { price: Price })
export const EditorMax = Schema.TaggedStruct("e.max", { price: Price })
export const EditorAny = Schema.TaggedStruct("e.any", { field: DraftField })
export const EditorName = Schema.TaggedStruct("e.name", {})
export const EditorSave = Schema.TaggedStruct("e.save", {})
export const EditorCancel = Schema.TaggedStruct("e.cancel", {})
/** Under a listing alert (the delivery side renders it): pause the filter that matched. */
export const Mute = Schema.TaggedStruct("mute", { filterId: Id })
export const Unmute = Schema.TaggedStruct("unmute", { filterId: Id })
export const SetLanguage = Schema.TaggedStruct("lang", { language: Schema.Literal("ru", "en") })
/** A plan button (Subscription screen, expiry notice). */
export const Buy = Schema.TaggedStruct("buy", { plan: Schema.Literal("day", "week", "month") })
export const DeleteMe = Schema.TaggedStruct("del", { answer: Schema.Literal("yes", "no") })
export const BroadcastAnswer = Schema.TaggedStruct("bc", {
  answer: Schema.Literal("send", "cancel"),
  broadcastId: Schema.String.pipe(Schema.pattern(/^[a-z0-9]{1,16}$/)),
})

export const Action = Schema.Union(
  Menu,
  NewFilter,
  FilterAction,
  EditorGo,
  EditorMarket,
  EditorDistrict,
  EditorRoom,
  EditorPeriod,
  EditorFurnishing,
  EditorMin,
  EditorMax,
  EditorAny,
  EditorName,
  EditorSave,
  EditorCancel,
  Mute,
  Unmute,
  SetLanguage,
  Buy,
  DeleteMe,
  BroadcastAnswer,
)
export type Action = typeof Action.Type
type Tag = Action["_tag"]

/** The order of each action's fields on the wire. */
const FIELDS: {
  readonly [K in Tag]: ReadonlyArray<Exclude<keyof Extract<Action, { _tag: K }>, "_tag">>
} = {
  menu: ["screen"],
  fnew: [],
  flt: ["op", "filterId"],
  "e.step": ["step"],
  "e.mkt": ["market"],
  "e.dist": ["index"],
  "e.room": ["rooms"],
  "e.per": ["period"],
  "e.fur": ["furnishing"],
  "e.min": ["price"],
  "e.max": ["price"],
  "e.any": ["field"],
  "e.name": [],
  "e.save": [],
  "e.cancel": [],
  mute: ["filterId"],
  unmute: ["filterId"],
  lang: ["language"],
  buy: ["plan"],
  del: ["answer"],
  bc: ["answer", "broadcastId"],
}

const isTag = (s: string): s is Tag => Object.hasOwn(FIELDS, s)

/** The 64-byte wire string. Printable ASCII only, so characters = bytes. */
const Wire = Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,64}$/))

export const CallbackData = Schema.transformOrFail(Wire, Action, {
  strict: true,
  decode: (wire, _, ast) => {
    const [tag = "", ...parts] = wire.split(":")
    if (!isTag(tag)) return ParseResult.fail(new ParseResult.Type(ast, wire, "unknown action"))
    const fields = FIELDS[tag] as ReadonlyArray<string>
    if (parts.length !== fields.length) {
      return ParseResult.fail(new ParseResult.Type(ast, wire, "wrong number of fields"))
    }
    const encoded: Record<string, string> = { _tag: tag }
    fields.forEach((field, i) => {
      encoded[field] = parts[i] ?? ""
    })
    return ParseResult.succeed(encoded as unknown as typeof Action.Encoded)
  },
  encode: (action) => {
    const record = action as unknown as Record<string, string>
    const fields = FIELDS[action._tag] as ReadonlyArray<string>
    return ParseResult.succeed([action._tag, ...fields.map((f) => record[f] ?? "")].join(":"))
  },
})

const decodeOption = Schema.decodeUnknownOption(CallbackData)

/** Parses a button press; `None` for anything that is not one of our actions. */
export const parseCallbackData = (data: unknown): Option.Option<Action> => decodeOption(data)

/**
 * The wire form of an action, for a button: the schema's encoding, written directly (a keyboard
 * has dozens of buttons; the tests check that every action reads back through the schema).
 * Throws (a programming error) if the result would break Telegram's 64-byte limit.
 */
export const callbackData = (action: Action): string => {
  const record = action as unknown as Record<string, string | number>
  const fields = FIELDS[action._tag] as ReadonlyArray<string>
  const wire = [action._tag, ...fields.map((f) => String(record[f]))].join(":")
  if (wire.length > 64 || !/^[\x21-\x7e]+$/.test(wire)) {
    throw new Error(`callback data does not fit Telegram's 64 bytes: ${wire}`)
  }
  return wire
}
