-- ga4-outbox schema, version 1: the outbox table, its notify trigger and the
-- report history. Everything lives in the ga4_outbox schema so the sidecar
-- never collides with the host application's tables.
CREATE SCHEMA IF NOT EXISTS ga4_outbox;

CREATE TABLE ga4_outbox.events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,

    -- What happened (public API: applications INSERT these columns directly).
    event_name      text        NOT NULL DEFAULT 'purchase',
    transaction_id  text,
    value           numeric,
    currency        text,
    params          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    user_properties jsonb,

    -- Who did it, as captured in the browser (raw: the audit needs bad values too).
    client_id  text,
    session_id text,
    user_id    text,

    -- Consent captured in the browser: 'granted', 'denied' or NULL (unknown).
    consent_analytics_storage  text,
    consent_ad_user_data       text,
    consent_ad_personalization text,

    -- When: a moment inside the browser session (sent as timestamp_micros) and
    -- the business time (payment). Where from: the code path that wrote the row.
    session_event_at timestamptz,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    source           text,
    measurement_id   text,

    -- Delivery state, owned by the sidecar.
    status          text        NOT NULL DEFAULT 'pending',
    reason          text,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_token     uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,

    -- Attribution deadline: session start + 24 h when session_id is a plain
    -- Unix-seconds value. The claim query serves the nearest deadline first;
    -- rows without a usable session_id come after, in insertion order.
    deadline_at timestamptz GENERATED ALWAYS AS (
        CASE WHEN length(session_id) BETWEEN 9 AND 10
                  AND translate(session_id, '0123456789', '') = ''
             THEN to_timestamp(session_id::bigint + 86400) END
    ) STORED,

    CONSTRAINT events_status_check
        CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    CONSTRAINT events_reason_required_check
        CHECK (status IN ('pending', 'delivered') OR reason IS NOT NULL),
    CONSTRAINT events_consent_analytics_storage_check
        CHECK (consent_analytics_storage IN ('granted', 'denied')),
    CONSTRAINT events_consent_ad_user_data_check
        CHECK (consent_ad_user_data IN ('granted', 'denied')),
    CONSTRAINT events_consent_ad_personalization_check
        CHECK (consent_ad_personalization IN ('granted', 'denied')),
    CONSTRAINT events_event_name_check
        CHECK (event_name <> ''),
    CONSTRAINT events_attempts_check
        CHECK (attempts >= 0)
);

COMMENT ON TABLE ga4_outbox.events IS
    'One row per conversion to deliver to the GA4 Measurement Protocol (ga4-outbox).';

-- Idempotent enqueue: one row per (event name, transaction id). An empty or
-- NULL transaction id is never deduplicated (the poller skips such purchases
-- as invalid instead of silently merging them).
CREATE UNIQUE INDEX events_dedup_idx
    ON ga4_outbox.events (event_name, transaction_id)
    WHERE transaction_id <> '';

-- The claim index: pending rows only, in claim order, so claiming never scans
-- delivered rows. Leased and backing-off rows are pending rows whose
-- next_attempt_at lies in the future; the claim query filters them out.
CREATE INDEX events_claim_idx
    ON ga4_outbox.events (deadline_at, id)
    WHERE status = 'pending';

-- Queue-table autovacuum. Every row is updated at least once (claim) and
-- again when marked, so dead tuples pile up at about twice the insert rate.
-- The default scale factor (20 % of the table) lets a 10 M row table collect
-- 2 M dead tuples before a vacuum; 1 % plus a 1,000-row floor keeps the claim
-- index small on any size. cost_delay 1 ms lets vacuum keep up with a busy
-- queue; insert-triggered vacuum (5 %) keeps the visibility map fresh for
-- index-only scans in the report.
ALTER TABLE ga4_outbox.events SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);

-- Wake the poller once per INSERT statement (not per row), after commit.
CREATE FUNCTION ga4_outbox.notify_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ga4_outbox_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON ga4_outbox.events
    FOR EACH STATEMENT EXECUTE FUNCTION ga4_outbox.notify_events();

-- Report history: one row per reconciliation run.
CREATE TABLE ga4_outbox.reconcile_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    trigger      text        NOT NULL DEFAULT 'manual',
    summary      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    files        text[]      NOT NULL DEFAULT '{}',
    CONSTRAINT reconcile_runs_window_check CHECK (window_start < window_end),
    CONSTRAINT reconcile_runs_trigger_check CHECK (trigger IN ('manual', 'nightly'))
);
