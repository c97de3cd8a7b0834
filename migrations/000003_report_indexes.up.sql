-- ga4-outbox schema, version 3: indexes for the reconciliation report.
--
-- The report reads one window of business time (occurred_at). A nightly
-- report over one day of a large table reads a small slice of it through
-- events_occurred_idx; a report whose window covers most of the table uses a
-- parallel sequential scan instead (the planner decides).
--
-- The delivery-health section lists the most frequent last errors in the
-- window; few rows carry one, so a partial index keeps that lookup small.
--
-- golang-migrate runs this file as one statement batch, inside an implicit
-- transaction, so the indexes are built without CONCURRENTLY and block
-- inserts while they build. On a large existing outbox create them first,
-- by hand, with CREATE INDEX CONCURRENTLY and the same names: IF NOT EXISTS
-- then makes this migration a no-op.
CREATE INDEX IF NOT EXISTS events_occurred_idx
    ON ga4_outbox.events (occurred_at);

CREATE INDEX IF NOT EXISTS events_last_error_idx
    ON ga4_outbox.events (occurred_at)
    WHERE last_error IS NOT NULL;
