package main

// The SQL of the operator commands (status, retry), in one place. It reads
// and writes only ga4_outbox.events; every statement is schema-qualified.

// sqlStatusCounts groups every row by status and reason.
const sqlStatusCounts = `
SELECT status, COALESCE(reason, ''), count(*), min(created_at), max(updated_at)
  FROM ga4_outbox.events
 GROUP BY status, reason
 ORDER BY array_position(ARRAY['pending','delivered','skipped','failed'], status), count(*) DESC, reason`

// sqlPendingState splits pending rows into due, leased and backing off,
// and finds the oldest one. $1 now.
const sqlPendingState = `
SELECT count(*) FILTER (WHERE next_attempt_at <= $1),
       count(*) FILTER (WHERE next_attempt_at > $1 AND lease_token IS NOT NULL),
       count(*) FILTER (WHERE next_attempt_at > $1 AND lease_token IS NULL),
       min(created_at)
  FROM ga4_outbox.events WHERE status = 'pending'`

// sqlNextAttempts lists the pending rows due soonest. $1 limit.
const sqlNextAttempts = `
SELECT id, COALESCE(transaction_id, ''), attempts, next_attempt_at,
       lease_token IS NOT NULL, COALESCE(last_error, '')
  FROM ga4_outbox.events WHERE status = 'pending'
 ORDER BY next_attempt_at, id LIMIT $1`

// sqlLastErrors lists the rows whose error was recorded most recently.
// $1 limit.
const sqlLastErrors = `
SELECT id, COALESCE(transaction_id, ''), status, COALESCE(reason, ''), attempts, updated_at, last_error
  FROM ga4_outbox.events WHERE last_error IS NOT NULL AND status <> 'delivered'
 ORDER BY updated_at DESC, id DESC LIMIT $1`

// retryWhere selects the rows retry puts back to pending. $1 include
// failed rows, $2 skipped reason (empty for none), $3 ids, $4 transaction ids,
// $5 failed reason, $6 since, $7 until (NULL arrays and values match all).
const retryWhere = `
 WHERE ((status = 'failed' AND $1::boolean AND ($5::text IS NULL OR reason = $5))
        OR (status = 'skipped' AND reason = NULLIF($2::text, '')))
   AND ($3::bigint[] IS NULL OR id = ANY($3))
   AND ($4::text[] IS NULL OR transaction_id = ANY($4))
   AND ($6::timestamptz IS NULL OR occurred_at >= $6)
   AND ($7::timestamptz IS NULL OR occurred_at < $7)`

// sqlRetryCount counts what sqlRetry would change (--dry-run).
const sqlRetryCount = `
SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'skipped')
  FROM ga4_outbox.events` + retryWhere

// sqlRetry puts the selected rows back to pending, due now, with a fresh
// attempt budget, and counts them by their former status. last_error is
// kept (no status change loses the error). $8 now.
const sqlRetry = `
WITH sel AS (
    SELECT id, status FROM ga4_outbox.events` + retryWhere + `
       FOR UPDATE
), upd AS (
    UPDATE ga4_outbox.events AS e
       SET status = 'pending', reason = NULL, attempts = 0, next_attempt_at = $8,
           lease_owner = NULL, lease_token = NULL, delivered_at = NULL, updated_at = $8
      FROM sel WHERE e.id = sel.id
    RETURNING sel.status AS was
)
SELECT count(*) FILTER (WHERE was = 'failed'), count(*) FILTER (WHERE was = 'skipped') FROM upd`

// sqlNotify wakes running pollers after a retry.
const sqlNotify = `SELECT pg_notify('ga4_outbox_events', '')`

// sqlSchemaVersion reads golang-migrate's version row (readiness).
const sqlSchemaVersion = `SELECT version, dirty FROM ga4_outbox.schema_migrations LIMIT 1`
