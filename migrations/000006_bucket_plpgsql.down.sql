-- Back to schema version 5: bucket_reason as the SQL function of version 3.
CREATE OR REPLACE FUNCTION ga4_outbox.bucket_reason(
    status text, reason text, client_id text, session_id text,
    session_event_at timestamptz, occurred_at timestamptz, delivered_at timestamptz)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    -- never sent by design, whatever ids it has: with analytics_storage
    -- denied the browser snippet captures no ids at all
    WHEN status = 'skipped' AND reason = 'consent_denied' THEN 'consent_denied:'
    -- missing_session_id comes before missing_client_id, but it needs a
    -- usable client_id, so testing the client first is the same rule and
    -- evaluates client_id_ok once per write.
    WHEN NOT ga4_outbox.client_id_ok(client_id)
         OR (status = 'skipped' AND reason IS NOT DISTINCT FROM 'missing_client_id') THEN
      CASE WHEN status = 'skipped' AND reason IS NOT DISTINCT FROM 'missing_client_id'
             THEN 'missing_client_id:skipped_missing_client_id'
           WHEN coalesce(client_id, '') = '' THEN 'missing_client_id:no_client_id'
           ELSE 'missing_client_id:invalid_client_id' END
    WHEN ga4_outbox.session_epoch(session_id) IS NULL THEN
      CASE WHEN coalesce(session_id, '') = '' THEN 'missing_session_id:no_session_id'
           ELSE 'missing_session_id:invalid_session_id' END
    -- from here on both ids are usable
    WHEN status = 'delivered' THEN
      CASE
        WHEN least(coalesce(session_event_at, occurred_at), delivered_at)
             < to_timestamp(ga4_outbox.session_epoch(session_id)) THEN 'late:timestamp_before_session'
        WHEN least(coalesce(session_event_at, occurred_at), delivered_at)
             > to_timestamp(ga4_outbox.session_epoch(session_id) + 86400) THEN 'late:timestamp_outside_session'
        WHEN session_event_at IS NULL AND least(occurred_at, delivered_at)
             > to_timestamp(ga4_outbox.session_epoch(session_id) + 1800) THEN 'late:timestamp_outside_session'
        WHEN delivered_at > to_timestamp(ga4_outbox.session_epoch(session_id) + 86400) THEN 'late:sent_after_24h'
        ELSE 'attributable:'
      END
    WHEN status = 'skipped' AND reason = 'expired' THEN 'expired:expired'
    WHEN status = 'skipped' THEN 'invalid:' || coalesce(reason, '')
    WHEN status = 'failed' THEN 'failed:' || coalesce(reason, 'failed')
    ELSE 'pending:'
END
$$;
