-- ga4-outbox schema, version 3: what the reconciliation report reads.
--
-- 1. The attribution inputs as stored generated columns. Whether client_id
--    is usable and when the session started are pure functions of the raw
--    ids; computing them once per write instead of once per row per report
--    keeps the report over 10 M rows inside its time budget (the regular
--    expressions cost more than the rest of the scan). The functions are the
--    same rules as ga4.NormalizeClientID and ga4.ParseSessionID; the report's
--    tests cross-check them row by row.
-- 2. Indexes: occurred_at for report windows, a partial one for last errors.
--
-- Upgrading a large existing outbox: ADD COLUMN ... STORED rewrites the
-- table under an exclusive lock, and golang-migrate runs this file in one
-- transaction (no CONCURRENTLY). Run it in a quiet window.

-- The functions are single expressions so that PostgreSQL inlines them
-- into the generated columns (a SQL function with a FROM clause would run
-- through the function executor on every insert).
--
-- client_id_ok: client_id, trimmed, is two positive integers of at most 19
-- digits joined by a dot, or a whole _ga cookie GA<n>.<x>.<a>.<b> whose last
-- two parts are. NULL and garbage are false.
CREATE FUNCTION ga4_outbox.client_id_ok(client_id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(
    btrim(client_id, E' \t\n\r\v\f') ~ '^(?=0*[1-9])[0-9]{1,19}\.(?=0*[1-9])[0-9]{1,19}$'
    OR btrim(client_id, E' \t\n\r\v\f') ~ '^GA[0-9]+\.[^.]*\.(?=0*[1-9])[0-9]{1,19}\.(?=0*[1-9])[0-9]{1,19}$',
    false)
$$;

-- session_sid: the session start as 10 digits from a trimmed session_id:
-- plain Unix seconds, or a _ga_<ID> cookie value in GS1 or GS2 format; NULL
-- when absent, unparseable or before 2020-01-01 (1577836800).
CREATE FUNCTION ga4_outbox.session_sid(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN t ~ '^[0-9]{10}$'
      THEN CASE WHEN t COLLATE "C" >= '1577836800' THEN t END
    WHEN t ~ '^GS1\.[^.]*\.[0-9]{10}\.[0-9]{1,18}(\.[^.]*(\.[0-9]{10}(\..*)?)?)?$'
      THEN CASE WHEN split_part(t, '.', 3) COLLATE "C" >= '1577836800' THEN split_part(t, '.', 3) END
    WHEN t ~ '^GS2\.[0-9]+\.(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?(\$(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?)*$'
      THEN CASE WHEN substring(t FROM '(?:^GS2\.[0-9]+\.|\$)s([0-9]{10})') COLLATE "C" >= '1577836800'
                THEN substring(t FROM '(?:^GS2\.[0-9]+\.|\$)s([0-9]{10})') END
END
$$;

-- session_start: the session start of a session_id as captured (trimmed,
-- "%24" read as "$"), NULL when unusable.
CREATE FUNCTION ga4_outbox.session_start(session_id text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT to_timestamp(ga4_outbox.session_sid(replace(btrim(session_id, E' \t\n\r\v\f'), '%24', '$'))::bigint)
$$;

ALTER TABLE ga4_outbox.events
    ADD COLUMN client_id_ok boolean
        GENERATED ALWAYS AS (ga4_outbox.client_id_ok(client_id)) STORED,
    ADD COLUMN session_start timestamptz
        GENERATED ALWAYS AS (ga4_outbox.session_start(session_id)) STORED;

COMMENT ON COLUMN ga4_outbox.events.client_id_ok IS
    'client_id is a usable GA4 client id (ga4.NormalizeClientID accepts it); read by the report.';
COMMENT ON COLUMN ga4_outbox.events.session_start IS
    'Session start parsed from session_id (ga4.ParseSessionID), NULL when unusable; read by the report.';

CREATE INDEX IF NOT EXISTS events_occurred_idx
    ON ga4_outbox.events (occurred_at);

CREATE INDEX IF NOT EXISTS events_last_error_idx
    ON ga4_outbox.events (occurred_at)
    WHERE last_error IS NOT NULL;
