-- ga4-outbox schema, version 8: rows waiting out a backoff leave the claim
-- scan.
--
-- Version 1's events_claim_idx held every pending row in deadline order
-- and the claim checked next_attempt_at row by row, so each claim read
-- every row waiting out its backoff. During a GA outage with 100,000 rows
-- in backoff a claim took ~9 ms, and an idle poller claiming every few
-- milliseconds while the application enqueued kept a database core busy.
--
-- The poller now records when a retried row falls due in retry_at too (it
-- sets next_attempt_at and retry_at together when it marks a retry; the
-- claim moves only next_attempt_at, to the lease end, and stays a HOT
-- update). The claim reads two partial indexes:
--   events_fresh_idx: pending rows never retried, in deadline order;
--   events_retry_idx: pending rows retried before, by the time they fall
--                     due, so a claim reads only the due ones.
-- Building the indexes reads the whole table once (writes wait meanwhile:
-- seconds per 10 M rows).
ALTER TABLE ga4_outbox.events ADD COLUMN IF NOT EXISTS retry_at timestamptz;

COMMENT ON COLUMN ga4_outbox.events.retry_at IS
    'When a retried pending row falls due (set with next_attempt_at by the poller; NULL until the first retry). Not for applications to write.';

CREATE INDEX IF NOT EXISTS events_fresh_idx
    ON ga4_outbox.events (deadline_at, id)
    WHERE status = 'pending' AND retry_at IS NULL;

CREATE INDEX IF NOT EXISTS events_retry_idx
    ON ga4_outbox.events (retry_at, id)
    WHERE status = 'pending' AND retry_at IS NOT NULL;

DROP INDEX IF EXISTS ga4_outbox.events_claim_idx;
