CREATE TYPE "public"."source_run_kind" AS ENUM('crawl', 'price_watch');--> statement-breakpoint
ALTER TABLE "listings" ADD COLUMN "price_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "listings" ADD COLUMN "missing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "source_runs" ADD COLUMN "kind" "source_run_kind" DEFAULT 'crawl' NOT NULL;