import type { PreCheckoutRefusal, RefundError } from "@flatwatch/subscriptions/Payments"
import type { PlanId } from "@flatwatch/subscriptions/Plans"
import type { Language } from "./Format.ts"
import { en } from "./MessagesEn.ts"
import { ru } from "./MessagesRu.ts"
import type { EditorStep, Furnishing, RentPeriod } from "./Session.ts"

/**
 * Every text a user can see, as a typed catalog: one implementation per language
 * (`MessagesEn.ts`, `MessagesRu.ts`). Texts are Telegram HTML; every parameter that comes from a
 * user or a site is escaped by the catalog (`esc`), numbers and dates are formatted for the
 * language by the caller (already strings here).
 */
export interface Messages {
  readonly language: Language
  /** The name of the language in itself, for the language picker. */
  readonly languageName: string

  // General
  /** `trialAvailable`: this Telegram id never had the free trial (else it is not promised). */
  readonly greeting: (firstName: string, trialAvailable: boolean) => string
  readonly menuTitle: string
  readonly help: string
  readonly terms: string
  readonly paySupport: string
  readonly paySupportSent: string
  readonly paySupportToAdmin: (userId: number, username: string, text: string) => string
  readonly unknown: string
  readonly error: string
  /** An update the bot could not read (it did not fit what Telegram sends). */
  readonly unreadable: string
  readonly stale: string
  readonly needStart: string

  // Buttons
  readonly btnSearches: string
  readonly btnSubscription: string
  readonly btnLanguage: string
  readonly btnHelp: string
  readonly btnMenu: string
  readonly btnBack: string
  readonly btnNext: string
  readonly btnCancel: string
  readonly btnSave: string
  readonly btnNewSearch: string
  readonly btnEdit: string
  readonly btnRename: string
  readonly btnPause: string
  readonly btnResume: string
  readonly btnDelete: string
  readonly btnYesDelete: string
  readonly btnNoKeep: string
  readonly btnUndo: string
  readonly btnAnyDistrict: string
  readonly btnAnyRooms: string
  readonly btnAnyPeriod: string
  readonly btnNoMin: string
  readonly btnNoMax: string
  readonly btnFurnishingAny: string
  readonly btnStep: (step: EditorStep) => string
  readonly btnName: string

  // Commands menu (setMyCommands)
  readonly commands: Readonly<Record<BotCommandName, string>>
  /** Added to the menu in the chats of `ADMIN_IDS` only. */
  readonly adminCommands: Readonly<Record<AdminCommandName, string>>

  // Searches
  readonly searchesTitle: (count: number, max: number) => string
  readonly searchesEmpty: string
  readonly limitReached: (max: number) => string
  readonly defaultSearchName: (n: number) => string
  readonly statusActive: string
  readonly statusPaused: string
  readonly searchCard: (name: string, active: boolean, summary: string) => string
  readonly confirmDelete: (name: string) => string
  readonly deleted: (name: string) => string
  readonly searchPaused: (name: string) => string
  readonly searchResumed: (name: string) => string
  readonly askRename: (name: string) => string
  readonly renamed: (name: string) => string
  readonly badName: string

  // Describing a search
  readonly labelMarket: string
  readonly labelDistricts: string
  readonly labelPrice: string
  readonly labelRooms: string
  readonly labelPeriod: string
  readonly labelFurnishing: string
  readonly anyDistrict: string
  readonly anyPrice: string
  readonly anyRooms: string
  readonly anyPeriod: string
  readonly priceFrom: (min: string) => string
  readonly priceUpTo: (max: string) => string
  readonly priceBetween: (min: string, max: string) => string
  readonly roomName: (rooms: number) => string
  readonly periodName: (period: RentPeriod) => string
  readonly furnishingName: (furnishing: Furnishing | null) => string

  // The editor
  readonly editorNew: string
  readonly editorEditing: (name: string) => string
  readonly stepMarket: string
  readonly stepDistricts: string
  readonly stepPriceMin: (currency: string) => string
  readonly stepPriceMax: (currency: string) => string
  readonly stepRooms: string
  readonly stepPeriod: string
  readonly stepFurnishing: string
  readonly stepSummary: string
  readonly askDraftName: string
  readonly editorCancelled: string
  readonly saved: (name: string, matchesThisWeek: number) => string
  readonly trialStarted: (until: string) => string
  readonly noAccess: string

  // Typed prices
  readonly priceNotNumber: (text: string, currency: string) => string
  readonly priceNegative: (currency: string) => string
  readonly priceTooLarge: (max: string) => string
  readonly priceMinAboveMax: (min: string, max: string) => string
  readonly priceMaxBelowMin: (max: string, min: string) => string

  // Mute button under alerts
  readonly muted: (name: string) => string
  readonly mutedToast: string
  readonly unmuted: (name: string) => string

  // Settings
  readonly pausedAll: string
  readonly resumedAll: string
  readonly chooseLanguage: string
  readonly languageSet: string
  readonly deleteConfirm: string
  readonly btnDeleteYes: string
  readonly btnDeleteNo: string
  readonly deleteDone: string
  readonly deleteCancelled: string

  // Subscription and payments
  readonly subscriptionTitle: string
  readonly subTrial: (until: string) => string
  readonly subPaid: (until: string) => string
  readonly subExpired: (since: string) => string
  /** Never subscribed, and the free trial is still to come. */
  readonly subNever: string
  /** No access and nothing to show (e.g. back after /deleteme): the trial is not promised again. */
  readonly subNone: string
  readonly subPlansIntro: string
  readonly planButton: (plan: PlanId, stars: number) => string
  readonly planName: (plan: PlanId) => string
  readonly invoiceTitle: (plan: PlanId) => string
  readonly invoiceDescription: (plan: PlanId, days: number) => string
  readonly preCheckoutError: (reason: PreCheckoutRefusal) => string
  readonly paymentThanks: (plan: PlanId, until: string) => string
  readonly paymentAlreadyCredited: (until: string) => string
  readonly refunded: (plan: PlanId, stars: number, until: string | null) => string
  /** A successful payment that could not be credited (no such order, the database failed). */
  readonly paymentNotCredited: (chargeId: string) => string
  readonly paymentNotCreditedToAdmin: (userId: number, chargeId: string, reason: string) => string

  // Admin
  readonly adminStats: (stats: AdminStatsText) => string
  readonly adminSources: (lines: ReadonlyArray<SourceLineText>) => string
  readonly adminNoSources: string
  readonly broadcastUsage: string
  readonly broadcastTooLong: (max: number) => string
  readonly broadcastPreview: (recipients: number, text: string) => string
  readonly btnBroadcastSend: (recipients: number) => string
  readonly broadcastQueued: (queued: number) => string
  readonly broadcastCancelled: string
  readonly grantUsage: string
  readonly grantNoUser: (userId: number) => string
  readonly grantDone: (userId: number, days: number, until: string) => string
  readonly grantedToUser: (days: number, until: string) => string
  readonly refundUsage: string
  readonly refundDone: (chargeId: string, userId: number, until: string) => string
  /** Telegram or the database failed; `detail` is technical (an error description). */
  readonly refundFailed: (chargeId: string, detail: string) => string
  /** A refund that cannot be made: not our charge, refunded already, the payer left. */
  readonly refundRefused: (chargeId: string, reason: RefundRefusal) => string
}

export type BotCommandName =
  | "start"
  | "filters"
  | "subscription"
  | "pause"
  | "resume"
  | "language"
  | "help"
  | "terms"
  | "paysupport"
  | "deleteme"

export type AdminCommandName = "stats" | "sources" | "broadcast" | "grant" | "refund"

export type RefundRefusal = RefundError["reason"]

export type { PlanId, PreCheckoutRefusal }

/** Figures for /stats, already formatted. */
export interface AdminStatsText {
  readonly users: string
  readonly blocked: string
  readonly subscribers: string
  readonly trials: string
  readonly filters: string
  readonly listingsToday: string
  readonly sent24h: string
  readonly failed24h: string
  readonly outbox: string
}

/** One source for /sources, already formatted. */
export interface SourceLineText {
  readonly source: string
  readonly status: string
  readonly lastRun: string
  readonly lastSuccess: string
  readonly lastOutcome: string
  readonly error: string | null
  /** Since when a `fetch: auto` source reads its pages through the browser; null = plain HTTP. */
  readonly browserSince: string | null
  /** How the last run read the source when not its usual way (a fallback). */
  readonly via: string | null
}

export const catalogs: Readonly<Record<Language, Messages>> = { en, ru }

export const messages = (lang: Language): Messages => catalogs[lang]
