DROP INDEX IF EXISTS ga4_outbox.events_last_error_idx;
DROP INDEX IF EXISTS ga4_outbox.events_delivered_lag_idx;
DROP INDEX IF EXISTS ga4_outbox.events_occurred_idx;
ALTER TABLE ga4_outbox.events
    DROP COLUMN IF EXISTS delivery_lag_s,
    DROP COLUMN IF EXISTS occurred_day,
    DROP COLUMN IF EXISTS bucket_reason;
DROP FUNCTION IF EXISTS ga4_outbox.bucket_reason(text, text, text, text, timestamptz, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS ga4_outbox.session_epoch(text);
DROP FUNCTION IF EXISTS ga4_outbox.session_sid(text);
DROP FUNCTION IF EXISTS ga4_outbox.client_id_ok(text);
DROP FUNCTION IF EXISTS ga4_outbox.id_pair_ok(text);
