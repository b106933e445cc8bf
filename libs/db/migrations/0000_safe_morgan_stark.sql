CREATE TYPE "public"."delivery_kind" AS ENUM('listing', 'price_drop', 'reminder', 'expired', 'broadcast', 'admin_notice', 'notice');--> statement-breakpoint
CREATE TYPE "public"."delivery_status" AS ENUM('pending', 'sending', 'sent', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."furnishing" AS ENUM('furnished', 'unfurnished');--> statement-breakpoint
CREATE TYPE "public"."language" AS ENUM('ru', 'en');--> statement-breakpoint
CREATE TYPE "public"."payment_status" AS ENUM('pending', 'paid', 'refunded');--> statement-breakpoint
CREATE TYPE "public"."rent_period" AS ENUM('monthly', 'yearly', 'weekly', 'daily');--> statement-breakpoint
CREATE TYPE "public"."source_run_outcome" AS ENUM('ok', 'empty', 'blocked', 'failed');--> statement-breakpoint
CREATE TYPE "public"."source_status" AS ENUM('ok', 'degraded', 'blocked');--> statement-breakpoint
CREATE TYPE "public"."subscription_plan" AS ENUM('trial', 'day', 'week', 'month', 'grant');--> statement-breakpoint
CREATE TYPE "public"."subscription_status" AS ENUM('active', 'expired', 'refunded');--> statement-breakpoint
CREATE TABLE "bot_sessions" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" bigint,
	"chat_id" bigint NOT NULL,
	"kind" "delivery_kind" NOT NULL,
	"listing_id" bigint,
	"filter_id" integer,
	"payload" jsonb,
	"dedupe_key" text NOT NULL,
	"status" "delivery_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"last_error" text,
	"telegram_message_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "filters" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"name" text NOT NULL,
	"market" text NOT NULL,
	"district_groups" text[] DEFAULT '{}'::text[] NOT NULL,
	"price_min" integer,
	"price_max" integer,
	"rooms" integer[] DEFAULT '{}'::integer[] NOT NULL,
	"rent_periods" "rent_period"[] DEFAULT '{}'::rent_period[] NOT NULL,
	"furnishing" "furnishing",
	"active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "filters_price_min_nonneg" CHECK ("filters"."price_min" IS NULL OR "filters"."price_min" >= 0),
	CONSTRAINT "filters_price_range" CHECK ("filters"."price_min" IS NULL OR "filters"."price_max" IS NULL OR "filters"."price_min" <= "filters"."price_max"),
	CONSTRAINT "filters_rooms_range" CHECK ("filters"."rooms" <@ ARRAY[0,1,2,3,4,5]),
	CONSTRAINT "filters_name_length" CHECK (char_length("filters"."name") BETWEEN 1 AND 64)
);
--> statement-breakpoint
CREATE TABLE "listing_prices" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"listing_id" bigint NOT NULL,
	"price" integer NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "listings" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"external_id" text NOT NULL,
	"market" text NOT NULL,
	"url" text NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"price" integer NOT NULL,
	"price_original" integer NOT NULL,
	"rent_period" "rent_period" DEFAULT 'monthly' NOT NULL,
	"currency" text NOT NULL,
	"rooms" smallint,
	"baths" smallint,
	"area_m2" real,
	"neighbourhood" text,
	"district_groups" text[] DEFAULT '{}'::text[] NOT NULL,
	"address" text,
	"furnished" boolean,
	"photos" text[] DEFAULT '{}'::text[] NOT NULL,
	"agent_name" text,
	"agency_name" text,
	"agent_phone" text,
	"permit_number" text,
	"posted_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"raw" jsonb,
	CONSTRAINT "listings_price_nonneg" CHECK ("listings"."price" >= 0)
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" bigint,
	"plan" "subscription_plan" NOT NULL,
	"amount" integer NOT NULL,
	"currency" text DEFAULT 'XTR' NOT NULL,
	"invoice_payload" text NOT NULL,
	"status" "payment_status" DEFAULT 'pending' NOT NULL,
	"telegram_payment_charge_id" text,
	"provider_payment_charge_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"refunded_at" timestamp with time zone,
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "source_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"pages" integer DEFAULT 0 NOT NULL,
	"found" integer DEFAULT 0 NOT NULL,
	"new" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"invalid" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"outcome" "source_run_outcome",
	"error" text
);
--> statement-breakpoint
CREATE TABLE "source_state" (
	"source" text PRIMARY KEY NOT NULL,
	"cursor" text,
	"status" "source_status" DEFAULT 'ok' NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"consecutive_empty" integer DEFAULT 0 NOT NULL,
	"blocked_until" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"plan" "subscription_plan" NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"status" "subscription_status" DEFAULT 'active' NOT NULL,
	"payment_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_period" CHECK ("subscriptions"."starts_at" < "subscriptions"."ends_at")
);
--> statement-breakpoint
CREATE TABLE "trial_claims" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" bigint PRIMARY KEY NOT NULL,
	"chat_id" bigint NOT NULL,
	"username" text,
	"first_name" text,
	"language" "language" DEFAULT 'en' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"blocked_at" timestamp with time zone,
	"paused_at" timestamp with time zone,
	"trial_used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_listing_id_listings_id_fk" FOREIGN KEY ("listing_id") REFERENCES "public"."listings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_filter_id_filters_id_fk" FOREIGN KEY ("filter_id") REFERENCES "public"."filters"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "filters" ADD CONSTRAINT "filters_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "listing_prices" ADD CONSTRAINT "listing_prices_listing_id_listings_id_fk" FOREIGN KEY ("listing_id") REFERENCES "public"."listings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_dedupe_key_uq" ON "deliveries" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("kind","next_attempt_at") WHERE "deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "deliveries_sending_lease_idx" ON "deliveries" USING btree ("lease_until") WHERE "deliveries"."status" = 'sending';--> statement-breakpoint
CREATE INDEX "deliveries_user_idx" ON "deliveries" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "deliveries_listing_idx" ON "deliveries" USING btree ("listing_id");--> statement-breakpoint
CREATE INDEX "deliveries_sent_at_idx" ON "deliveries" USING btree ("sent_at");--> statement-breakpoint
CREATE INDEX "filters_user_idx" ON "filters" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "filters_active_market_idx" ON "filters" USING btree ("market") WHERE "filters"."active";--> statement-breakpoint
CREATE INDEX "filters_district_groups_idx" ON "filters" USING gin ("district_groups");--> statement-breakpoint
CREATE INDEX "listing_prices_listing_idx" ON "listing_prices" USING btree ("listing_id","seen_at");--> statement-breakpoint
CREATE UNIQUE INDEX "listings_source_external_uq" ON "listings" USING btree ("source","external_id");--> statement-breakpoint
CREATE INDEX "listings_market_first_seen_idx" ON "listings" USING btree ("market","first_seen_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_invoice_payload_uq" ON "payments" USING btree ("invoice_payload");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_telegram_charge_uq" ON "payments" USING btree ("telegram_payment_charge_id");--> statement-breakpoint
CREATE INDEX "payments_user_idx" ON "payments" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "source_runs_source_started_idx" ON "source_runs" USING btree ("source","started_at");--> statement-breakpoint
CREATE INDEX "subscriptions_user_ends_idx" ON "subscriptions" USING btree ("user_id","ends_at");--> statement-breakpoint
CREATE INDEX "subscriptions_active_ends_idx" ON "subscriptions" USING btree ("ends_at") WHERE "subscriptions"."status" = 'active';