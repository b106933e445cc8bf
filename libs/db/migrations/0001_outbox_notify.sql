-- Wakes outbox senders as soon as rows are queued (LISTEN flatwatch_outbox), instead of waiting
-- for their next poll. One notification per INSERT statement, sent at commit, whose payload is
-- the comma-separated kinds inserted, so only the senders of those kinds claim.
CREATE FUNCTION "deliveries_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kinds text;
BEGIN
  SELECT string_agg(DISTINCT "kind"::text, ',') INTO kinds FROM "new_rows";
  IF kinds IS NOT NULL THEN
    PERFORM pg_notify('flatwatch_outbox', kinds);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "deliveries_notify" AFTER INSERT ON "deliveries"
  REFERENCING NEW TABLE AS "new_rows"
  FOR EACH STATEMENT EXECUTE FUNCTION "deliveries_notify"();
