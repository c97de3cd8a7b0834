package poller

// Every SQL statement of the package, in one place (the application's
// INSERT is in the outbox package). All of them are schema-qualified; the
// sidecar never depends on search_path.

// sqlClaim leases up to $2 due pending rows to this worker in one
// statement, nearest attribution deadline first. Two partial indexes
// (migration 000008) keep rows that wait out a backoff out of the scan:
// events_fresh_idx holds the rows never retried in deadline order, those
// without a deadline last in id order (the leased ones among them are
// skipped by next_attempt_at); events_retry_idx only the retried rows, in
// the order they fall due. The parts read: dated, the rows with a deadline;
// undated, the rows without one (only when dated cannot fill the batch);
// retried, the due retried rows; behind, through the primary key, the rows
// a check found before the dated or undated cursor (cursor.go). Of
// all of them the $2 nearest deadlines are leased (the other locked rows
// are let go when the statement ends). The = ANY(ARRAY(...)) form makes the
// UPDATE use the primary key instead of hash-joining against a scan of the
// whole table. The rows stay pending; next_attempt_at (no index) moves to
// the lease end, so a worker that dies leaves them claimable when the lease
// expires, and the claim stays a heap-only update where the page has room.
// $1 now, $3 lease end, $4 lease owner, $5 lease token.
//
// Each part starts at the poller's cursor instead of the start of its
// part of the index, so that it does not walk the entries that claimed
// and marked rows leave behind until vacuum removes them: dated after
// ($6 deadline, $7 id), undated after $8, retried after ($9 retry_at,
// $10 id); a NULL id reads that part from its start. behind reads the ids
// $11 (NULL: no behind part), and checks that they are still claimable
// only once they are locked: with the conditions in its scan, PostgreSQL
// may read the whole of events_fresh_idx instead of the primary key when
// its statistics believe that index empty. Every claim is planned with its
// arguments (see claim), so PostgreSQL folds the conditions of the unused
// forms away and the cursor becomes the start of the index scan.
const sqlClaim = `
WITH dated AS (
    SELECT id, deadline_at FROM ga4_outbox.events
     WHERE status = 'pending' AND retry_at IS NULL AND next_attempt_at <= $1
       AND deadline_at IS NOT NULL
       AND ($7::bigint IS NULL OR (deadline_at, id) > ($6::timestamptz, $7))
     ORDER BY deadline_at, id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
), undated AS (
    SELECT id, deadline_at FROM ga4_outbox.events
     WHERE status = 'pending' AND retry_at IS NULL AND next_attempt_at <= $1
       AND deadline_at IS NULL AND id > COALESCE($8::bigint, 0)
       AND (SELECT count(*) FROM dated) < $2
     ORDER BY deadline_at, id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
), retried AS (
    SELECT id, deadline_at FROM ga4_outbox.events
     WHERE status = 'pending' AND retry_at IS NOT NULL AND retry_at <= $1 AND next_attempt_at <= $1
       AND ($10::bigint IS NULL OR (retry_at, id) > ($9::timestamptz, $10))
     ORDER BY retry_at, id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
), behind AS (
    SELECT id, deadline_at, status, retry_at, next_attempt_at FROM ga4_outbox.events
     WHERE $11::bigint[] IS NOT NULL AND id = ANY ($11)
     FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id, deadline_at FROM dated
    UNION ALL
    SELECT id, deadline_at FROM undated
    UNION ALL
    SELECT id, deadline_at FROM retried
    UNION ALL
    SELECT id, deadline_at FROM behind
     WHERE status = 'pending' AND retry_at IS NULL AND next_attempt_at <= $1
     ORDER BY deadline_at, id
     LIMIT $2
)
UPDATE ga4_outbox.events AS e
   SET next_attempt_at = $3, lease_owner = $4, lease_token = $5,
       attempts = e.attempts + 1, updated_at = $1
 WHERE e.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING e.id, e.attempts, e.event_name, COALESCE(e.transaction_id, ''),
          COALESCE(e.value::text, ''), COALESCE(e.currency, ''), e.params, e.user_properties,
          COALESCE(e.client_id, ''), COALESCE(e.session_id, ''), COALESCE(e.user_id, ''),
          COALESCE(e.consent_analytics_storage, ''), COALESCE(e.consent_ad_user_data, ''),
          COALESCE(e.consent_ad_personalization, ''),
          e.session_event_at, e.occurred_at, e.created_at,
          COALESCE(e.source, ''), COALESCE(e.measurement_id, ''),
          e.deadline_at, e.retry_at`

// sqlMark records a batch's results in one statement, fenced by the lease
// token: rows another worker has claimed since (this lease expired) are
// left alone. An empty error keeps last_error; a retried row gets its
// backoff in next_attempt_at and retry_at (which moves it to the claim's
// retried part). The token is repeated per row so that the fence is a join
// condition: with it as a plain filter PostgreSQL estimated one matching
// row and nested a rescan of the unnest inside each row (quadratic in the
// batch); joined, every plan walks the unnest and probes the primary key.
// $1 ids, $2 statuses, $3 reasons, $4 errors, $5 next attempt times,
// $6 now, $7 lease tokens (the batch's, once per row). It returns the ids
// it marked.
const sqlMark = `
UPDATE ga4_outbox.events AS e
   SET status = m.status,
       reason = NULLIF(m.reason, ''),
       last_error = COALESCE(NULLIF(m.last_error, ''), e.last_error),
       next_attempt_at = CASE WHEN m.status = 'pending' THEN m.next_attempt_at ELSE e.next_attempt_at END,
       retry_at = CASE WHEN m.status = 'pending' THEN m.next_attempt_at END,
       delivered_at = CASE WHEN m.status = 'delivered' THEN $6::timestamptz END,
       lease_token = NULL,
       updated_at = $6::timestamptz
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $7::uuid[])
       AS m(id, status, reason, last_error, next_attempt_at, token)
 WHERE e.id = m.id AND e.lease_token = m.token AND e.status = 'pending'
RETURNING e.id`

// sqlExtendLease moves the lease of a batch still being sent to $1, for
// the rows this worker still holds (fenced by the lease token $3). $2 ids.
const sqlExtendLease = `
UPDATE ga4_outbox.events SET next_attempt_at = $1
 WHERE id = ANY ($2::bigint[]) AND lease_token = $3 AND status = 'pending'`

// pendingParts runs cols over the pending rows as two queries whose
// conditions match the partial indexes of migration 000008 (rows never
// retried, rows retried before): PostgreSQL would scan the whole table for
// a plain status = 'pending'. Callers aggregate the two result rows.
func pendingParts(cols string) string {
	return `SELECT ` + cols + ` FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NULL
UNION ALL
SELECT ` + cols + ` FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NOT NULL`
}

// sqlRetain deletes up to $4 finished rows past their retention age in id
// order after the cursor $1, and returns how many and the last id.
// $2 delivered cutoff, $3 skipped cutoff (NULL keeps those rows), $4 limit.
const sqlRetain = `
WITH doomed AS (
    SELECT id FROM ga4_outbox.events
     WHERE id > $1
       AND ((status = 'delivered' AND updated_at < $2) OR (status = 'skipped' AND updated_at < $3))
     ORDER BY id
     LIMIT $4
     FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM ga4_outbox.events AS e USING doomed WHERE e.id = doomed.id RETURNING e.id
)
SELECT count(*), COALESCE(max(id), $1) FROM gone`

// sqlVacuumHealth reads what keeps vacuum from cleaning the outbox table
// (docs/VACUUM.md), from the statistics views only: the share of the
// table's row versions that are dead; the age in seconds of the oldest
// transaction of this database that holds a snapshot or a transaction id
// (a long query, a session idle in transaction) or of the oldest prepared
// transaction; and the age in transaction ids of the oldest xmin a
// replication slot holds. Other roles' sessions show their xact_start only
// to roles with pg_read_all_stats (pg_monitor); without it the age covers
// the sidecar's own sessions and prepared transactions.
const sqlVacuumHealth = `
SELECT COALESCE((SELECT n_dead_tup::float8 / NULLIF(n_live_tup + n_dead_tup, 0)
                   FROM pg_stat_user_tables WHERE relid = 'ga4_outbox.events'::regclass), 0),
       GREATEST(
         COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(xact_start))::float8 FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)), 0),
         COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(prepared))::float8 FROM pg_prepared_xacts
                    WHERE database = current_database()), 0)),
       COALESCE((SELECT max(age(xmin))::float8 FROM pg_replication_slots
                  WHERE xmin IS NOT NULL AND (database IS NULL OR database = current_database())), 0)`

// The operator queries: Status reads, Requeue changes failed and skipped
// rows (the status and retry commands).

// sqlStatusCounts groups every row by status and reason.
const sqlStatusCounts = `
SELECT status, COALESCE(reason, ''), count(*), min(created_at), max(updated_at)
  FROM ga4_outbox.events
 GROUP BY status, reason
 ORDER BY array_position(ARRAY['pending','delivered','skipped','failed'], status), count(*) DESC, reason`

// sqlNextAttempts lists the pending rows due soonest. $1 limit.
var sqlNextAttempts = `
SELECT * FROM (` +
	pendingParts(`id, COALESCE(transaction_id, ''), attempts, next_attempt_at,
       lease_token IS NOT NULL, COALESCE(last_error, '')`) + `) AS p
 ORDER BY next_attempt_at, id LIMIT $1`

// sqlLastErrors lists the undelivered rows whose error was recorded most
// recently. $1 limit.
const sqlLastErrors = `
SELECT id, COALESCE(transaction_id, ''), status, COALESCE(reason, ''), attempts, updated_at, last_error
  FROM ga4_outbox.events WHERE last_error IS NOT NULL AND status <> 'delivered'
 ORDER BY updated_at DESC, id DESC LIMIT $1`

// requeueWhere selects the rows Requeue puts back to pending: only failed
// and skipped ones. $1 include failed rows, $2 skipped reason (empty for
// none), $3 ids, $4 transaction ids, $5 failed reason, $6 since, $7 until
// (NULL arrays and values match all).
const requeueWhere = `
 WHERE ((status = 'failed' AND $1::boolean AND ($5::text IS NULL OR reason = $5))
        OR (status = 'skipped' AND reason = NULLIF($2::text, '')))
   AND ($3::bigint[] IS NULL OR id = ANY($3))
   AND ($4::text[] IS NULL OR transaction_id = ANY($4))
   AND ($6::timestamptz IS NULL OR occurred_at >= $6)
   AND ($7::timestamptz IS NULL OR occurred_at < $7)`

// sqlRequeueCount counts what sqlRequeue would change (a dry run), by
// status.
const sqlRequeueCount = `
SELECT count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'skipped')
  FROM ga4_outbox.events` + requeueWhere

// sqlRequeue puts the selected rows back to pending, due now, with a fresh
// attempt budget, and counts them by their former status. last_error is
// kept (no status change loses the error). $8 now.
const sqlRequeue = `
WITH sel AS (
    SELECT id, status FROM ga4_outbox.events` + requeueWhere + `
       FOR UPDATE
), upd AS (
    UPDATE ga4_outbox.events AS e
       SET status = 'pending', reason = NULL, attempts = 0, next_attempt_at = $8, retry_at = NULL,
           lease_owner = NULL, lease_token = NULL, delivered_at = NULL, updated_at = $8
      FROM sel WHERE e.id = sel.id
    RETURNING sel.status AS was
)
SELECT count(*) FILTER (WHERE was = 'failed'), count(*) FILTER (WHERE was = 'skipped') FROM upd`

// NotifyChannel is the channel the events table's trigger NOTIFYs after
// each enqueueing statement (migrations 000001, 000004 and 000009); the
// poller LISTENs on it.
const NotifyChannel = "ga4_outbox_events"

// sqlNotify wakes running pollers (they LISTEN on NotifyChannel) after a
// Requeue; inside a transaction the notification is sent at commit.
const sqlNotify = `SELECT pg_notify('` + NotifyChannel + `', '')`
