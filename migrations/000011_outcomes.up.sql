-- ga4-outbox schema, version 11: what GA4 recorded for each purchase
-- (issue "attribution truth", docs/OUTCOMES.md).
--
-- One row per (GA4 property, transaction id), written by
-- `ga4-outbox outcomes fetch` from the GA4 Data API (runReport) and read by
-- the report's "Credited in GA4" section. A new table: the migration takes
-- no lock on ga4_outbox.events.
CREATE TABLE ga4_outbox.outcomes (
    -- The numeric GA4 property id (Admin > Property details), not the
    -- G- measurement id; measurement_id is the stream whose rows were looked
    -- up (NULL: the default property of the config).
    property_id    text NOT NULL,
    transaction_id text NOT NULL,
    measurement_id text,

    -- not_found     GA4 has no purchase with this transaction id
    -- credited      a real channel (Organic Search, Paid Search, Email, ...)
    -- direct        the channel is Direct
    -- unassigned    the channel is Unassigned
    -- not_set       the channel is "(not set)"
    -- indeterminate the answer cannot be trusted: rows folded into "(other)",
    --               thresholding, sampling, or a quota error (detail says which)
    -- duplicate     GA4 counts more than one purchase for the id
    outcome text NOT NULL,
    detail  text,

    -- provisional (final = false) until the order is 72 h old: GA4's data
    -- changes for 24-48 h. Provisional rows are fetched again.
    final boolean NOT NULL DEFAULT false,

    -- What GA4 credited: the session's default channel group, source /
    -- medium and campaign; its revenue in the property's currency.
    channel       text,
    source_medium text,
    campaign      text,
    ga_revenue    numeric,
    ga_currency   text,
    ga_purchases  numeric,

    -- When the order happened (the events row's occurred_at) and when GA4
    -- was asked.
    ordered_at       timestamptz NOT NULL,
    first_checked_at timestamptz NOT NULL DEFAULT now(),
    checked_at       timestamptz NOT NULL DEFAULT now(),

    PRIMARY KEY (property_id, transaction_id),
    CONSTRAINT outcomes_outcome_check CHECK (outcome IN (
        'not_found', 'credited', 'direct', 'unassigned', 'not_set',
        'indeterminate', 'duplicate'))
);

COMMENT ON TABLE ga4_outbox.outcomes IS
    'What GA4 recorded and credited for each purchase, read back with the Data API (ga4-outbox).';

-- The next fetch re-checks what is still provisional, oldest order first.
CREATE INDEX outcomes_provisional_idx
    ON ga4_outbox.outcomes (ordered_at) WHERE NOT final;

-- The report joins outcomes to the outbox by transaction id.
CREATE INDEX outcomes_transaction_idx
    ON ga4_outbox.outcomes (transaction_id);
