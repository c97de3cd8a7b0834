DROP INDEX IF EXISTS ga4_outbox.events_last_error_idx;
DROP INDEX IF EXISTS ga4_outbox.events_occurred_idx;
