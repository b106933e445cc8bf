/**
 * The whole Flatwatch data model (DESIGN.md "Data model"). Table and column names are snake_case
 * in PostgreSQL and camelCase in TypeScript. Migrations in `../migrations` are generated from this
 * file with `bun run db:generate`.
 */
import { sql } from "drizzle-orm"
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  real,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core"

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" })
/** Telegram ids fit in 52 bits, so they are plain JS numbers. */
const telegramId = (name: string) => bigint(name, { mode: "number" })

export const language = pgEnum("language", ["ru", "en"])
/** How often the rent is paid; prices are always stored normalised to a month as well. */
export const rentPeriod = pgEnum("rent_period", ["monthly", "yearly", "weekly", "daily"])
export const furnishing = pgEnum("furnishing", ["furnished", "unfurnished"])
export const subscriptionPlan = pgEnum("subscription_plan", [
  "trial",
  "day",
  "week",
  "month",
  "grant",
])
export const subscriptionStatus = pgEnum("subscription_status", ["active", "expired", "refunded"])
export const paymentStatus = pgEnum("payment_status", ["pending", "paid", "refunded"])
export const deliveryKind = pgEnum("delivery_kind", [
  "listing",
  "price_drop",
  "reminder",
  "expired",
  "broadcast",
  "admin_notice",
  "notice",
])
export const deliveryStatus = pgEnum("delivery_status", [
  "pending",
  "sending",
  "sent",
  "failed",
  "cancelled",
])
export const sourceStatus = pgEnum("source_status", ["ok", "degraded", "blocked"])
export const sourceRunOutcome = pgEnum("source_run_outcome", ["ok", "empty", "blocked", "failed"])
/** What a source run did: a crawl of new listings, or a price watch re-reading known ones. */
export const sourceRunKind = pgEnum("source_run_kind", ["crawl", "price_watch"])

export const users = pgTable("users", {
  /** Telegram user id. */
  id: telegramId("id").primaryKey(),
  chatId: telegramId("chat_id").notNull(),
  username: text("username"),
  firstName: text("first_name"),
  language: language("language").notNull().default("en"),
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  /** Set when Telegram answers 403 or the user blocks the bot; cleared when they come back. */
  blockedAt: timestamptz("blocked_at"),
  /** Set by /pause: no alerts at all until /resume. */
  pausedAt: timestamptz("paused_at"),
  trialUsedAt: timestamptz("trial_used_at"),
})

/**
 * One-way hashes of Telegram ids that have had a trial. Kept after /deleteme (nothing else is),
 * so that deleting the account and coming back never gives a second trial.
 */
export const trialClaims = pgTable("trial_claims", {
  idHash: text("id_hash").primaryKey(),
  claimedAt: timestamptz("claimed_at").notNull().defaultNow(),
})

export const filters = pgTable(
  "filters",
  {
    id: serial("id").primaryKey(),
    userId: telegramId("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The market of the sources it matches (e.g. `dubai`); listings carry the same value. */
    market: text("market").notNull(),
    /** District groups; empty = anywhere. */
    districtGroups: text("district_groups").array().notNull().default(sql`'{}'::text[]`),
    /** Monthly price bounds in the market currency; null = unbounded. */
    priceMin: integer("price_min"),
    priceMax: integer("price_max"),
    /** Room counts; 0 = studio, 5 = five or more; empty = any. */
    rooms: integer("rooms").array().notNull().default(sql`'{}'::integer[]`),
    /** Accepted rent periods; empty = any. */
    rentPeriods: rentPeriod("rent_periods").array().notNull().default(sql`'{}'::rent_period[]`),
    /** null = any. */
    furnishing: furnishing("furnishing"),
    active: boolean("active").notNull().default(true),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("filters_user_idx").on(t.userId),
    index("filters_active_market_idx").on(t.market).where(sql`${t.active}`),
    index("filters_district_groups_idx").using("gin", t.districtGroups),
    check("filters_price_min_nonneg", sql`${t.priceMin} IS NULL OR ${t.priceMin} >= 0`),
    check(
      "filters_price_range",
      sql`${t.priceMin} IS NULL OR ${t.priceMax} IS NULL OR ${t.priceMin} <= ${t.priceMax}`,
    ),
    check("filters_rooms_range", sql`${t.rooms} <@ ARRAY[0,1,2,3,4,5]`),
    check("filters_name_length", sql`char_length(${t.name}) BETWEEN 1 AND 64`),
  ],
)

/** Orders and payments in Telegram Stars: a row is created with the invoice, paid on success. */
export const payments = pgTable(
  "payments",
  {
    id: serial("id").primaryKey(),
    /** Kept as an accounting record when the user deletes their account. */
    userId: telegramId("user_id").references(() => users.id, { onDelete: "set null" }),
    plan: subscriptionPlan("plan").notNull(),
    /** Amount in the smallest unit of the currency (Stars are whole). */
    amount: integer("amount").notNull(),
    currency: text("currency").notNull().default("XTR"),
    /** The invoice payload: names this order; random, unguessable. */
    invoicePayload: text("invoice_payload").notNull(),
    status: paymentStatus("status").notNull().default("pending"),
    telegramPaymentChargeId: text("telegram_payment_charge_id"),
    providerPaymentChargeId: text("provider_payment_charge_id"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    expiresAt: timestamptz("expires_at").notNull(),
    paidAt: timestamptz("paid_at"),
    refundedAt: timestamptz("refunded_at"),
  },
  (t) => [
    uniqueIndex("payments_invoice_payload_uq").on(t.invoicePayload),
    uniqueIndex("payments_telegram_charge_uq").on(t.telegramPaymentChargeId),
    index("payments_user_idx").on(t.userId),
    check("payments_amount_positive", sql`${t.amount} > 0`),
  ],
)

export const subscriptions = pgTable(
  "subscriptions",
  {
    id: serial("id").primaryKey(),
    userId: telegramId("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    plan: subscriptionPlan("plan").notNull(),
    startsAt: timestamptz("starts_at").notNull(),
    endsAt: timestamptz("ends_at").notNull(),
    status: subscriptionStatus("status").notNull().default("active"),
    paymentId: integer("payment_id").references(() => payments.id, { onDelete: "set null" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [
    index("subscriptions_user_ends_idx").on(t.userId, t.endsAt),
    index("subscriptions_active_ends_idx").on(t.endsAt).where(sql`${t.status} = 'active'`),
    check("subscriptions_period", sql`${t.startsAt} < ${t.endsAt}`),
  ],
)

export const listings = pgTable(
  "listings",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    source: text("source").notNull(),
    externalId: text("external_id").notNull(),
    market: text("market").notNull(),
    url: text("url").notNull(),
    title: text("title").notNull(),
    description: text("description"),
    /** Monthly price, normalised, in `currency`. */
    price: integer("price").notNull(),
    /** The price as the site gave it, per `rentPeriod`. */
    priceOriginal: integer("price_original").notNull(),
    rentPeriod: rentPeriod("rent_period").notNull().default("monthly"),
    currency: text("currency").notNull(),
    /** 0 = studio; null = unknown. */
    rooms: smallint("rooms"),
    baths: smallint("baths"),
    areaM2: real("area_m2"),
    neighbourhood: text("neighbourhood"),
    districtGroups: text("district_groups").array().notNull().default(sql`'{}'::text[]`),
    address: text("address"),
    furnished: boolean("furnished"),
    photos: text("photos").array().notNull().default(sql`'{}'::text[]`),
    agentName: text("agent_name"),
    agencyName: text("agency_name"),
    agentPhone: text("agent_phone"),
    permitNumber: text("permit_number"),
    postedAt: timestamptz("posted_at"),
    firstSeenAt: timestamptz("first_seen_at").notNull().defaultNow(),
    lastSeenAt: timestamptz("last_seen_at").notNull().defaultNow(),
    /** When the price watch last asked the source for this listing (found or not). */
    priceCheckedAt: timestamptz("price_checked_at"),
    /**
     * When the price watch first found the listing gone from the source (rented, removed) since
     * it was last seen; null while the source still has it. Long missing = no longer watched.
     */
    missingSince: timestamptz("missing_since"),
    raw: jsonb("raw"),
  },
  (t) => [
    uniqueIndex("listings_source_external_uq").on(t.source, t.externalId),
    index("listings_market_first_seen_idx").on(t.market, t.firstSeenAt),
    check("listings_price_nonneg", sql`${t.price} >= 0`),
  ],
)

export const listingPrices = pgTable(
  "listing_prices",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    listingId: bigint("listing_id", { mode: "number" })
      .notNull()
      .references(() => listings.id, { onDelete: "cascade" }),
    price: integer("price").notNull(),
    seenAt: timestamptz("seen_at").notNull().defaultNow(),
  },
  (t) => [index("listing_prices_listing_idx").on(t.listingId, t.seenAt)],
)

/** The outbox: every message Flatwatch sends in the background is a row here first. */
export const deliveries = pgTable(
  "deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** null only for notices to admins who never started the bot. */
    userId: telegramId("user_id").references(() => users.id, { onDelete: "cascade" }),
    chatId: telegramId("chat_id").notNull(),
    kind: deliveryKind("kind").notNull(),
    listingId: bigint("listing_id", { mode: "number" }).references(() => listings.id, {
      onDelete: "cascade",
    }),
    filterId: integer("filter_id").references(() => filters.id, { onDelete: "set null" }),
    /** Kind-specific data (old and new price, reminder end date, broadcast text, ...). */
    payload: jsonb("payload"),
    /** Makes queuing idempotent: `listing:<user>:<listing>`, `reminder:<sub>:<offset>`, ... */
    dedupeKey: text("dedupe_key").notNull(),
    status: deliveryStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamptz("next_attempt_at").notNull().defaultNow(),
    leaseUntil: timestamptz("lease_until"),
    lastError: text("last_error"),
    telegramMessageId: bigint("telegram_message_id", { mode: "number" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    sentAt: timestamptz("sent_at"),
  },
  (t) => [
    uniqueIndex("deliveries_dedupe_key_uq").on(t.dedupeKey),
    /** What a sender claims: due pending rows of its kinds, oldest first. */
    index("deliveries_due_idx").on(t.kind, t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    /** Rows whose sender died: expired leases are claimed again. */
    index("deliveries_sending_lease_idx").on(t.leaseUntil).where(sql`${t.status} = 'sending'`),
    index("deliveries_user_idx").on(t.userId),
    index("deliveries_listing_idx").on(t.listingId),
    index("deliveries_sent_at_idx").on(t.sentAt),
  ],
)

export const sourceState = pgTable("source_state", {
  source: text("source").primaryKey(),
  /** High-water mark, adapter-specific (Bayut: the newest `createdAt` stored). */
  cursor: text("cursor"),
  status: sourceStatus("status").notNull().default("ok"),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  consecutiveEmpty: integer("consecutive_empty").notNull().default(0),
  blockedUntil: timestamptz("blocked_until"),
  lastRunAt: timestamptz("last_run_at"),
  lastSuccessAt: timestamptz("last_success_at"),
  lastError: text("last_error"),
  /**
   * How the last run read the source when not its usual way (Bayut: "html search page" when
   * the API answered with a block); null = the usual way.
   */
  via: text("via"),
  updatedAt: timestamptz("updated_at").notNull().defaultNow(),
})

export const sourceRuns = pgTable(
  "source_runs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    source: text("source").notNull(),
    /** `crawl` (new listings, moves the cursor) or `price_watch` (known listings re-read). */
    kind: sourceRunKind("kind").notNull().default("crawl"),
    startedAt: timestamptz("started_at").notNull(),
    finishedAt: timestamptz("finished_at"),
    pages: integer("pages").notNull().default(0),
    found: integer("found").notNull().default(0),
    new: integer("new").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    invalid: integer("invalid").notNull().default(0),
    errors: integer("errors").notNull().default(0),
    outcome: sourceRunOutcome("outcome"),
    error: text("error"),
  },
  (t) => [index("source_runs_source_started_idx").on(t.source, t.startedAt)],
)

/** grammY session storage: a restart loses no conversation state. */
export const botSessions = pgTable("bot_sessions", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: timestamptz("updated_at").notNull().defaultNow(),
})

/**
 * A source's headless-browser session (`fetch: browser | auto`), so a challenge solved once
 * serves later runs and restarts: its cookies and the local storage of each origin it visited.
 * `fetchVia` is what an `auto` source fetches with now (`http` or `browser`), for the admin's
 * `/sources` and the one notice per switch.
 */
export const browserSessions = pgTable("browser_sessions", {
  source: text("source").primaryKey(),
  /** Cookies as the browser reports them (name, value, domain, path, expires, ...). */
  cookies: jsonb("cookies").notNull().default([]),
  /** `{ "<origin>": { "<key>": "<value>" } }`. */
  localStorage: jsonb("local_storage").notNull().default({}),
  fetchVia: text("fetch_via").notNull().default("http"),
  fetchViaSince: timestamptz("fetch_via_since"),
  updatedAt: timestamptz("updated_at").notNull().defaultNow(),
})
