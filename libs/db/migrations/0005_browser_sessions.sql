CREATE TABLE "browser_sessions" (
	"source" text PRIMARY KEY NOT NULL,
	"cookies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"local_storage" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"fetch_via" text DEFAULT 'http' NOT NULL,
	"fetch_via_since" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
