-- Back to schema version 4: the last_error index without the error text.
DROP INDEX IF EXISTS ga4_outbox.events_last_error_idx;
CREATE INDEX events_last_error_idx
    ON ga4_outbox.events (occurred_at)
    WHERE last_error IS NOT NULL;
ALTER TABLE ga4_outbox.events DROP CONSTRAINT IF EXISTS events_last_error_size;
