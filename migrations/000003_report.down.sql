DROP INDEX IF EXISTS ga4_outbox.events_last_error_idx;
DROP INDEX IF EXISTS ga4_outbox.events_occurred_idx;
ALTER TABLE ga4_outbox.events
    DROP COLUMN IF EXISTS session_start,
    DROP COLUMN IF EXISTS client_id_ok;
DROP FUNCTION IF EXISTS ga4_outbox.session_start(text);
DROP FUNCTION IF EXISTS ga4_outbox.session_sid(text);
DROP FUNCTION IF EXISTS ga4_outbox.client_id_ok(text);
