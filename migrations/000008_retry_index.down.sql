-- Back to schema version 7: one partial index over all pending rows.
CREATE INDEX IF NOT EXISTS events_claim_idx
    ON ga4_outbox.events (deadline_at, id)
    WHERE status = 'pending';

DROP INDEX IF EXISTS ga4_outbox.events_fresh_idx;
DROP INDEX IF EXISTS ga4_outbox.events_retry_idx;
ALTER TABLE ga4_outbox.events DROP COLUMN IF EXISTS retry_at;
