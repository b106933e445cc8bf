-- Markets are files now (libs/market/markets/*.json) and a market's id is its file's id. Avito's
-- listings were stored as 'moskva' (the AVITO_MARKET of the examples) while the bot's filters
-- said 'moscow', so they never met: one id, the market file's, for listings, filters and
-- filter drafts kept in bot sessions. Dubai's ids and group names did not change. Listings of
-- the old example sources ('vinnytsia', 'duesseldorf') keep their city: no market offers it, and
-- they are not Kyiv's or Berlin's flats.
UPDATE "listings" SET "market" = 'moscow' WHERE "market" = 'moskva';
--> statement-breakpoint
UPDATE "filters" SET "market" = 'moscow' WHERE "market" = 'moskva';
--> statement-breakpoint
UPDATE "bot_sessions"
SET "value" = jsonb_set("value", '{draft,market}', '"moscow"')
WHERE "value" #>> '{draft,market}' = 'moskva';
