-- Back to schema version 11: one row per (event_name, transaction_id).
--
-- Runs in steps (internal/dbmigrate, StepMarker), like the up migration.
-- Refused while an order has more than one refund row: version 11 cannot
-- hold them, and a migration never deletes conversions. Delete the extra
-- refunds you no longer need (or keep version 12) first.

DO $$
DECLARE
    tx text;
BEGIN
    SELECT transaction_id INTO tx FROM ga4_outbox.events
    WHERE event_name = 'refund' AND transaction_id <> ''
    GROUP BY transaction_id HAVING count(*) > 1
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot go back to schema version 11: order % has several refund rows, which version 11 cannot hold', tx
            USING HINT = 'keep version 12, or delete the refund rows you no longer need first';
    END IF;
END
$$;

-- ga4-outbox:step
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_dedup_idx;

-- ga4-outbox:step
CREATE UNIQUE INDEX CONCURRENTLY events_dedup_idx
    ON ga4_outbox.events (event_name, transaction_id)
    WHERE transaction_id <> '';

-- ga4-outbox:step
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_dedup_key_idx;

-- ga4-outbox:step
DROP INDEX CONCURRENTLY IF EXISTS ga4_outbox.events_refund_idx;

-- ga4-outbox:step
SET LOCAL lock_timeout = '5s';
DROP TRIGGER IF EXISTS events_refund_defaults ON ga4_outbox.events;
DROP FUNCTION IF EXISTS ga4_outbox.refund_defaults();
ALTER TABLE ga4_outbox.events DROP CONSTRAINT IF EXISTS events_refund_id_check;
-- Metadata only: the values stay in the heap until rows are rewritten.
ALTER TABLE ga4_outbox.events DROP COLUMN IF EXISTS refund_id;
