-- ga4-outbox schema, version 12: refunds (docs/REFUNDS.md).
--
-- Several refunds of one order, each enqueued once: a refund carries the
-- payment provider's refund id (refund_id), and the idempotency key becomes
-- (event_name, transaction_id, refund_id). A purchase stays one per
-- transaction id. A refund without a refund id is the order's one refund
-- without an id (a full refund, as before this version): a second one for
-- the same order is a duplicate.
--
-- Safe on a large outbox: this file runs in steps (internal/dbmigrate,
-- StepMarker), each in its own transaction. The first step changes only the
-- catalogue (a new NULL column, a NOT VALID check, a trigger): it holds an
-- ACCESS EXCLUSIVE lock for milliseconds and gives up after lock_timeout
-- rather than queue every writer behind a long transaction. The new unique
-- index (and the report's small index of refunds) is built CONCURRENTLY
-- (writes go on), then the old one dropped CONCURRENTLY. Every step can run again: after a failure,
-- `ga4-outbox migrate force 11` and `migrate up`. docs/PERFORMANCE.md has
-- the figures on 10,000,000 rows.
--
-- Inserts that name the old conflict target, ON CONFLICT (event_name,
-- transaction_id) WHERE transaction_id <> '', fail once the old index is
-- gone: write ON CONFLICT DO NOTHING (no target, correct before and after
-- this version) before upgrading (docs/REFUNDS.md, "Upgrading").

SET LOCAL lock_timeout = '5s';

-- The provider's refund id (Stripe re_..., PayPal refund id): the
-- idempotency key of one refund. NULL on every other event.
ALTER TABLE ga4_outbox.events ADD COLUMN IF NOT EXISTS refund_id text;
COMMENT ON COLUMN ga4_outbox.events.refund_id IS
    'Payment provider refund id: one row per (transaction_id, refund_id) for refund events; NULL otherwise.';

-- Only refunds carry a refund id (a purchase with one would escape the
-- one-purchase-per-order rule). NOT VALID: every existing row has a NULL
-- refund_id (the column is new); the last step validates without blocking
-- writes.
ALTER TABLE ga4_outbox.events DROP CONSTRAINT IF EXISTS events_refund_id_check;
ALTER TABLE ga4_outbox.events ADD CONSTRAINT events_refund_id_check
    CHECK (refund_id IS NULL OR event_name = 'refund') NOT VALID;

-- refund_defaults completes a refund row at insert from its order's
-- purchase row (found through the unique index), so that a refund written
-- by a webhook that knows only the order goes out like its purchase:
-- each of client_id, user_id, measurement_id (the purchase's GA4 property)
-- and the three consent columns that is NULL on the refund takes the
-- purchase's value; a value the refund carries wins. A refund without a
-- value and without items refunds the whole order: it takes the
-- purchase's value and currency. The session is not copied: a refund
-- happens outside the purchase's session. An empty refund id is stored as
-- NULL (no id); the refund id is copied into
-- params as refund_id, sent to GA4 as an event parameter. Without a
-- purchase row (not yet written, or deleted by retention) the refund is
-- stored as written; the report flags it.
--
-- SECURITY DEFINER: the application's role may read only id, event_name,
-- transaction_id and refund_id of the outbox (deploy/sql/app-grants.sql);
-- the function reads the purchase as the schema owner and copies its values
-- into the new row, which that role cannot read back either.
CREATE OR REPLACE FUNCTION ga4_outbox.refund_defaults() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ga4_outbox.events%ROWTYPE;
BEGIN
    NEW.refund_id := nullif(NEW.refund_id, '');
    IF NEW.refund_id IS NOT NULL AND jsonb_typeof(NEW.params) = 'object' THEN
        NEW.params := NEW.params || jsonb_build_object('refund_id', NEW.refund_id);
    END IF;
    IF coalesce(NEW.transaction_id, '') = '' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO p FROM ga4_outbox.events
    WHERE event_name = 'purchase' AND transaction_id = NEW.transaction_id
      AND transaction_id <> '' AND coalesce(refund_id, '') = ''
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    NEW.client_id := coalesce(NEW.client_id, p.client_id);
    NEW.user_id := coalesce(NEW.user_id, p.user_id);
    NEW.measurement_id := coalesce(NEW.measurement_id, p.measurement_id);
    NEW.consent_analytics_storage := coalesce(NEW.consent_analytics_storage, p.consent_analytics_storage);
    NEW.consent_ad_user_data := coalesce(NEW.consent_ad_user_data, p.consent_ad_user_data);
    NEW.consent_ad_personalization := coalesce(NEW.consent_ad_personalization, p.consent_ad_personalization);
    IF NEW.value IS NULL AND NOT (jsonb_typeof(NEW.params) = 'object' AND NEW.params ? 'items') THEN
        NEW.value := p.value;
        NEW.currency := coalesce(NEW.currency, p.currency);
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS events_refund_defaults ON ga4_outbox.events;
CREATE TRIGGER events_refund_defaults
    BEFORE INSERT ON ga4_outbox.events
    FOR EACH ROW WHEN (NEW.event_name = 'refund')
    EXECUTE FUNCTION ga4_outbox.refund_defaults();

-- ga4-outbox:step
-- A leftover of an interrupted build (an INVALID index) is dropped first.
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_dedup_key_idx;

-- ga4-outbox:step
-- Idempotent enqueue: one row per (event name, transaction id, refund id);
-- NULL and '' refund ids are one key, so a purchase stays one per
-- transaction id and an order has at most one refund without an id. An
-- empty or NULL transaction id is never deduplicated (the poller skips such
-- purchases and refunds as invalid instead of silently merging them).
-- Every key the old index held unique stays unique here, so the build
-- cannot fail on existing rows.
CREATE UNIQUE INDEX CONCURRENTLY events_dedup_key_idx
    ON ga4_outbox.events (event_name, transaction_id, coalesce(refund_id, ''))
    WHERE transaction_id <> '';

-- ga4-outbox:step
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_dedup_idx;

-- ga4-outbox:step
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_refund_idx;

-- ga4-outbox:step
-- The report's refunds section reads the window's refunds from this small
-- index instead of scanning the window's conversions.
CREATE INDEX CONCURRENTLY events_refund_idx
    ON ga4_outbox.events (occurred_at)
    WHERE event_name = 'refund';

-- ga4-outbox:step
-- SHARE UPDATE EXCLUSIVE: one scan, writes go on.
ALTER TABLE ga4_outbox.events VALIDATE CONSTRAINT events_refund_id_check;
