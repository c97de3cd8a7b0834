-- Back to schema version 9: the id rules of version 3 and bucket_reason of
-- version 6. Rows the new reasons name are recomputed by the old rules
-- (UPDATE below; one sequential scan, as the up migration).
CREATE OR REPLACE FUNCTION ga4_outbox.client_id_ok(client_id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(CASE
    WHEN left(btrim(client_id, E' \t\n\r\v\f'), 2) = 'GA'
      THEN btrim(client_id, E' \t\n\r\v\f') ~ '^GA[0-9]+\.[^.]*\.[0-9]{1,19}\.[0-9]{1,19}$'
           AND ga4_outbox.id_pair_ok(substring(btrim(client_id, E' \t\n\r\v\f') FROM '[0-9]+\.[0-9]+$'))
    ELSE ga4_outbox.id_pair_ok(btrim(client_id, E' \t\n\r\v\f'))
  END, false)
$$;

CREATE OR REPLACE FUNCTION ga4_outbox.session_epoch(session_id text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT ga4_outbox.session_sid(replace(btrim(session_id, E' \t\n\r\v\f'), '%24', '$'))::bigint
$$;

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

UPDATE ga4_outbox.events SET client_id = client_id
WHERE bucket_reason IN ('missing_client_id:non_ga_client_id', 'attributable:recovered_session_id');

DROP FUNCTION ga4_outbox.session_cookie_text(text);
DROP FUNCTION ga4_outbox.client_id_non_ga(text);
