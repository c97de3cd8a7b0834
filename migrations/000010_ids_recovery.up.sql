-- ga4-outbox schema, version 10: ids as real integrations send them
-- (docs/IDS.md), the same rules as ga4.ClientIDForm and ga4.SessionIDForm.
--
-- 1. client_id_ok also takes a _ga cookie whose GA<n>.<level>. prefix
--    appears more than once ("GA1.1.GA1.2.202830711.1689950339").
-- 2. session_epoch also recovers the session start from a GS2 fragment
--    ("s1748934661$o208$g1...", the value after "GS2.1.") and ignores spaces
--    next to a "$".
-- 3. bucket_reason names two new reasons: attributable rows whose session
--    id was recovered from a cookie value or fragment are
--    "attributable:recovered_session_id", and a client id that is a UUID or
--    an AMP id ("amp-...": another tracker's id, which joins no browser
--    session) is "missing_client_id:non_ga_client_id" instead of
--    invalid_client_id.
--
-- bucket_reason is a stored generated column: replacing the functions
-- changes the rows written from now on, not the stored values. The UPDATE
-- below recomputes only the rows whose stored reason the new rules rename
-- (UUID and AMP client ids; attributable rows whose session id was a whole
-- cookie, which the sender has always normalised). It reads the table once
-- (a sequential scan: bucket_reason has no index) and writes only those
-- rows. Rows the old rules called missing keep their stored bucket on
-- purpose: a delivered one was sent without that id, so it was not
-- attributed; a skipped one can be put back with
-- `ga4-outbox retry --skipped-reason invalid`, and its next UPDATE
-- classifies it by the new rules.

CREATE OR REPLACE FUNCTION ga4_outbox.client_id_ok(client_id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(CASE
    WHEN left(btrim(client_id, E' \t\n\r\v\f'), 2) = 'GA'
      THEN btrim(client_id, E' \t\n\r\v\f') ~ '^(GA[0-9]+\.[^.]*\.)+[0-9]{1,19}\.[0-9]{1,19}$'
           AND ga4_outbox.id_pair_ok(substring(btrim(client_id, E' \t\n\r\v\f') FROM '[0-9]+\.[0-9]+$'))
    ELSE ga4_outbox.id_pair_ok(btrim(client_id, E' \t\n\r\v\f'))
  END, false)
$$;

-- client_id_non_ga: client_id, trimmed, is a UUID or an AMP client id
-- ("amp-" and 8 to 96 base64url characters). Only asked about client ids
-- that client_id_ok rejects.
CREATE FUNCTION ga4_outbox.client_id_non_ga(client_id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(btrim(client_id, E' \t\n\r\v\f')
    ~ '^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|amp-[A-Za-z0-9_-]{8,96})$', false)
$$;

-- session_cookie_text: a trimmed session_id with "%24" read as "$", as
-- session_sid reads it: a GS2 fragment (it starts with "s" and a digit)
-- gets a "GS2.1." prefix, and spaces next to a "$" of a GS2 value are
-- dropped. The plain form passes through two cheap tests.
CREATE FUNCTION ga4_outbox.session_cookie_text(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN t ~ '^s[0-9]' THEN 'GS2.1.' || regexp_replace(t, ' *\$ *', '$', 'g')
    WHEN left(t, 4) = 'GS2.' AND strpos(t, ' ') > 0 THEN regexp_replace(t, ' *\$ *', '$', 'g')
    ELSE t
END
$$;

CREATE OR REPLACE FUNCTION ga4_outbox.session_epoch(session_id text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT ga4_outbox.session_sid(ga4_outbox.session_cookie_text(
    replace(btrim(session_id, E' \t\n\r\v\f'), '%24', '$')))::bigint
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
                    WHEN ga4_outbox.client_id_non_ga(client_id) THEN 'missing_client_id:non_ga_client_id'
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
            -- a usable session id that is not all digits was recovered
            WHEN translate(btrim(session_id, E' \t\n\r\v\f'), '0123456789', '') <> ''
              THEN 'attributable:recovered_session_id'
            ELSE 'attributable:' END;
    END IF;
    RETURN CASE
        WHEN status = 'skipped' AND reason = 'expired' THEN 'expired:expired'
        WHEN status = 'skipped' THEN 'invalid:' || coalesce(reason, '')
        WHEN status = 'failed' THEN 'failed:' || coalesce(reason, 'failed')
        ELSE 'pending:' END;
END
$$;

-- Setting a column to itself recomputes the generated columns of the row.
UPDATE ga4_outbox.events SET client_id = client_id
WHERE (bucket_reason = 'missing_client_id:invalid_client_id' AND ga4_outbox.client_id_non_ga(client_id))
   OR (bucket_reason = 'attributable:'
       AND translate(btrim(session_id, E' \t\n\r\v\f'), '0123456789', '') <> '');
