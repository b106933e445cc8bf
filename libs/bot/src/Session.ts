import { Schema } from "effect"

/**
 * What the bot remembers between updates of one user, stored in `bot_sessions` (so a restart in
 * the middle of the filter editor loses nothing). Decoded with `Schema` when read: a row of an
 * older shape is treated as an empty session rather than trusted.
 */

export const RentPeriod = Schema.Literal("monthly", "yearly", "weekly", "daily")
export type RentPeriod = typeof RentPeriod.Type
export const RENT_PERIODS: ReadonlyArray<RentPeriod> = RentPeriod.literals

export const Furnishing = Schema.Literal("furnished", "unfurnished")
export type Furnishing = typeof Furnishing.Type

/** Room counts as stored: 0 = studio, 5 = five or more. */
export const ROOM_CHOICES = [0, 1, 2, 3, 4, 5] as const

export const EditorStep = Schema.Literal(
  "market",
  "districts",
  "priceMin",
  "priceMax",
  "rooms",
  "period",
  "furnishing",
  "summary",
)
export type EditorStep = typeof EditorStep.Type

/** A search being created or edited; becomes a `filters` row only on Save. */
export const FilterDraft = Schema.Struct({
  /** The filter being edited; null for a new one. */
  filterId: Schema.NullOr(Schema.Int),
  name: Schema.String,
  market: Schema.String,
  districtGroups: Schema.Array(Schema.String),
  priceMin: Schema.NullOr(Schema.Int),
  priceMax: Schema.NullOr(Schema.Int),
  rooms: Schema.Array(Schema.Int),
  rentPeriods: Schema.Array(RentPeriod),
  furnishing: Schema.NullOr(Furnishing),
  step: EditorStep,
  /** The one message the editor lives in; presses on any other message are stale. */
  messageId: Schema.NullOr(Schema.Int),
})
export type FilterDraft = typeof FilterDraft.Type

/** Typed text the bot is waiting for (prices are awaited by the editor's price steps). */
export const Awaiting = Schema.Union(
  Schema.TaggedStruct("draftName", {}),
  Schema.TaggedStruct("rename", { filterId: Schema.Int }),
)
export type Awaiting = typeof Awaiting.Type

/** An admin's broadcast between the preview and the confirmation. */
export const PendingBroadcast = Schema.Struct({ id: Schema.String, text: Schema.String })
export type PendingBroadcast = typeof PendingBroadcast.Type

export const SessionData = Schema.Struct({
  draft: Schema.optional(FilterDraft),
  awaiting: Schema.optional(Awaiting),
  broadcast: Schema.optional(PendingBroadcast),
})
export type SessionData = typeof SessionData.Type

export const emptySession = (): SessionData => ({})
