-- ga4-outbox schema, version 3: what the reconciliation report reads.
--
-- 1. The classification as stored generated columns. The bucket of a row
--    is a pure function of its columns; computing it once per write instead
--    of once per row per report keeps the report over 10 M rows inside its
--    time budget (the regular expressions alone cost more than the scan).
--    The functions are the same rules as ga4.NormalizeClientID,
--    ga4.ParseSessionID and ga4.CheckAttribution; the report's tests
--    cross-check them row by row.
-- 2. Indexes: occurred_at for report windows, partial ones for the lag
--    histogram and last errors.
--
-- Upgrading a large existing outbox: ADD COLUMN ... STORED rewrites the
-- table under an exclusive lock, and golang-migrate runs this file in one
-- transaction (no CONCURRENTLY). Run it in a quiet window.

-- The functions are single expressions so that PostgreSQL inlines them
-- into the generated columns (a SQL function with a FROM clause would run
-- through the function executor on every insert).
--
-- id_pair_ok: p is two positive integers of at most 19 digits joined by a
-- dot ("0.5" and "1.00" are not). Written with translate and split_part
-- rather than a regular expression: it runs on every write of the outbox,
-- and PostgreSQL's regular expressions cost several microseconds a call.
CREATE FUNCTION ga4_outbox.id_pair_ok(p text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT translate(p, '0123456789', '') = '.'
   AND length(split_part(p, '.', 1)) BETWEEN 1 AND 19
   AND length(split_part(p, '.', 2)) BETWEEN 1 AND 19
   AND ltrim(split_part(p, '.', 1), '0') <> ''
   AND ltrim(split_part(p, '.', 2), '0') <> ''
$$;

-- client_id_ok: client_id, trimmed, is an id pair (id_pair_ok), or a whole
-- _ga cookie GA<n>.<x>.<a>.<b> whose last two parts are. NULL and garbage
-- are false.
CREATE FUNCTION ga4_outbox.client_id_ok(client_id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(CASE
    WHEN left(btrim(client_id, E' \t\n\r\v\f'), 2) = 'GA'
      THEN btrim(client_id, E' \t\n\r\v\f') ~ '^GA[0-9]+\.[^.]*\.[0-9]{1,19}\.[0-9]{1,19}$'
           AND ga4_outbox.id_pair_ok(substring(btrim(client_id, E' \t\n\r\v\f') FROM '[0-9]+\.[0-9]+$'))
    ELSE ga4_outbox.id_pair_ok(btrim(client_id, E' \t\n\r\v\f'))
  END, false)
$$;

-- session_sid: the session start as 10 digits from a trimmed session_id
-- (the plain form is checked without a regular expression, and the cookie
-- forms only behind their prefix: this runs several times per write):
-- plain Unix seconds, or a _ga_<ID> cookie value in GS1 or GS2 format; NULL
-- when absent, unparseable or before 2020-01-01 (1577836800).
CREATE FUNCTION ga4_outbox.session_sid(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN length(t) = 10 AND translate(t, '0123456789', '') = ''
      THEN CASE WHEN t COLLATE "C" >= '1577836800' THEN t END
    WHEN left(t, 4) = 'GS1.' AND t ~ '^GS1\.[^.]*\.[0-9]{10}\.[0-9]{1,18}(\.[^.]*(\.[0-9]{10}(\..*)?)?)?$'
      THEN CASE WHEN split_part(t, '.', 3) COLLATE "C" >= '1577836800' THEN split_part(t, '.', 3) END
    WHEN left(t, 4) = 'GS2.' AND t ~ '^GS2\.[0-9]+\.(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?(\$(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?)*$'
      THEN CASE WHEN substring(t FROM '(?:^GS2\.[0-9]+\.|\$)s([0-9]{10})') COLLATE "C" >= '1577836800'
                THEN substring(t FROM '(?:^GS2\.[0-9]+\.|\$)s([0-9]{10})') END
END
$$;

-- session_epoch: the session start of a session_id as captured (trimmed,
-- "%24" read as "$") in Unix seconds, NULL when unusable.
CREATE FUNCTION ga4_outbox.session_epoch(session_id text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT ga4_outbox.session_sid(replace(btrim(session_id, E' \t\n\r\v\f'), '%24', '$'))::bigint
$$;

-- bucket_reason: "bucket:reason", the report's classification of one row
-- (docs/REPORT.md), the same rule as ga4.CheckAttribution. Sent time is
-- delivered_at; the event time is session_event_at (in the session), else
-- occurred_at, clamped to the delivery. The ids are tested first
-- (attributable and late need both), which is equivalent to the documented
-- precedence. Stuck (pending and old) depends on the clock, so the report
-- decides it.
CREATE FUNCTION ga4_outbox.bucket_reason(
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

-- What the report groups by, stored so that the planner sees plain columns
-- with statistics (a CASE over several columns makes it expect millions of
-- groups and give up on a parallel aggregate) and no row is classified at
-- report time. Generated columns are recomputed by every UPDATE, so a
-- status change moves the row to its new bucket.
ALTER TABLE ga4_outbox.events
    ADD COLUMN bucket_reason text GENERATED ALWAYS AS (ga4_outbox.bucket_reason(
        status, reason, client_id, session_id, session_event_at, occurred_at, delivered_at)) STORED,
    ADD COLUMN occurred_day date
        GENERATED ALWAYS AS ((occurred_at AT TIME ZONE 'UTC')::date) STORED,
    ADD COLUMN delivery_lag_s bigint
        GENERATED ALWAYS AS (floor(date_part('epoch', delivered_at - occurred_at))::bigint) STORED;

COMMENT ON COLUMN ga4_outbox.events.bucket_reason IS
    'Report bucket and reason ("late:sent_after_24h"), from ga4_outbox.bucket_reason; read by the report.';
COMMENT ON COLUMN ga4_outbox.events.occurred_day IS 'UTC date of occurred_at; the report''s by-day key.';
COMMENT ON COLUMN ga4_outbox.events.delivery_lag_s IS 'Whole seconds from occurred_at to delivered_at; the report''s lag histogram key.';

CREATE INDEX IF NOT EXISTS events_occurred_idx
    ON ga4_outbox.events (occurred_at);

-- The lag histogram reads delivered rows only, from this index alone
-- (index-only scan: the table's insert-triggered autovacuum keeps the
-- visibility map fresh).
CREATE INDEX IF NOT EXISTS events_delivered_lag_idx
    ON ga4_outbox.events (occurred_at) INCLUDE (delivery_lag_s, attempts, delivered_at)
    WHERE status = 'delivered';

CREATE INDEX IF NOT EXISTS events_last_error_idx
    ON ga4_outbox.events (occurred_at)
    WHERE last_error IS NOT NULL;
