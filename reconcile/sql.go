package reconcile

// The report's SQL. classifySQL is the one place the bucket rules live in
// SQL; ga4.CheckAttribution is the same rule in Go and a test holds the two
// together. Parameters everywhere: $1 since, $2 until (business time,
// [since, until)), $3 stuck_before (now - stuck_after).
//
// The id rules are the generated columns of migration 000003, computed once
// per write: client_id_ok (ga4.NormalizeClientID accepts client_id) and
// session_start (ga4.ParseSessionID's result, NULL when unusable). Here:
//   - client_ok: client_id_ok, except that a row the poller skipped as
//     missing_client_id never counts as having one.
//   - sent_at: the timestamp sent (session_event_at, else occurred_at),
//     clamped to the delivery time; in session when session_event_at is set.
//   - att_reason: NULL when GA4 can join the delivered event to its session,
//     else the ga4.Reason* constant of the first rule that fails.
const classifySQL = `
SELECT c.*,
       CASE
         WHEN c.status = 'delivered' AND c.client_ok AND c.sid_ok AND c.att_reason IS NULL THEN 'attributable'
         WHEN c.client_ok AND NOT c.sid_ok THEN 'missing_session_id'
         WHEN NOT c.client_ok THEN 'missing_client_id'
         WHEN c.status = 'delivered' THEN 'late'
         WHEN c.status = 'skipped' AND c.reason = 'consent_denied' THEN 'consent_denied'
         WHEN c.status = 'skipped' AND c.reason = 'expired' THEN 'expired'
         WHEN c.status = 'skipped' THEN 'invalid'
         WHEN c.status = 'failed' THEN 'failed'
         ELSE 'pending'
       END AS bucket
FROM (
  SELECT t.*,
         CASE WHEN t.status = 'delivered' AND t.sid_ok THEN
           CASE
             WHEN t.sent_at < t.session_start THEN 'timestamp_before_session'
             WHEN t.sent_at > t.session_start + interval '24 hours' THEN 'timestamp_outside_session'
             WHEN t.session_event_at IS NULL AND t.sent_at > t.session_start + interval '30 minutes'
               THEN 'timestamp_outside_session'
             WHEN t.delivered_at > t.session_start + interval '24 hours' THEN 'sent_after_24h'
           END
         END AS att_reason
  FROM (
    SELECT e.id, e.transaction_id, e.value, e.source, e.occurred_at, e.session_event_at,
           e.status, e.reason, e.attempts, e.created_at, e.delivered_at, e.client_id, e.session_id,
           e.session_start,
           coalesce(e.currency, '') AS currency,
           e.client_id_ok AND NOT (e.status = 'skipped' AND e.reason IS NOT DISTINCT FROM 'missing_client_id') AS client_ok,
           e.session_start IS NOT NULL AS sid_ok,
           least(coalesce(e.session_event_at, e.occurred_at), e.delivered_at) AS sent_at
    FROM ga4_outbox.events e
    WHERE e.occurred_at >= $1 AND e.occurred_at < $2
  ) t
) c`

// aggregateSQL groups the classified window by currency, source, day,
// bucket, reason and stuck flag in one parallel pass. The groups are few
// (currencies x sources x days x buckets), so Go folds them into the
// sections exactly; the rows themselves never leave the database.
const aggregateSQL = `
SELECT currency,
       coalesce(source, '(none)') AS source,
       occurred_at::date AS day, -- the report's transaction runs in UTC
       bucket,
       coalesce(CASE bucket
         WHEN 'late' THEN att_reason
         WHEN 'missing_session_id' THEN
           CASE WHEN coalesce(session_id, '') = '' THEN 'no_session_id' ELSE 'invalid_session_id' END
         WHEN 'missing_client_id' THEN
           CASE WHEN status = 'skipped' AND reason = 'missing_client_id' THEN 'skipped_missing_client_id'
                WHEN coalesce(client_id, '') = '' THEN 'no_client_id' ELSE 'invalid_client_id' END
         WHEN 'invalid' THEN reason
         WHEN 'expired' THEN reason
         WHEN 'failed' THEN coalesce(reason, 'failed')
         ELSE ''
       END, '') AS detail,
       (bucket = 'pending' AND created_at < $3) AS stuck,
       count(*) AS conversions,
       coalesce(sum(value), 0)::text AS revenue,
       coalesce(min(transaction_id), '') AS tx_min,
       coalesce(max(transaction_id), '') AS tx_max,
       coalesce(sum(attempts) FILTER (WHERE status = 'delivered'), 0) AS attempts_sum,
       coalesce(max(attempts) FILTER (WHERE status = 'delivered'), 0) AS attempts_max,
       count(*) FILTER (WHERE status = 'delivered' AND attempts > 1) AS retried,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       min(created_at) FILTER (WHERE status = 'pending') AS oldest_pending
FROM (` + classifySQL + `) k
GROUP BY 1, 2, 3, 4, 5, 6`

// lagSQL is the histogram of delivery lag in whole seconds over delivered
// rows, one parallel hash aggregate instead of a single-threaded sort of
// every delivered row; Go reads the percentiles off it (percentileCont).
// At most a few hundred thousand groups: lags beyond 72 h are rare.
const lagSQL = `
SELECT floor(lag)::bigint, count(*), max(lag)
FROM (
  SELECT date_part('epoch', delivered_at - occurred_at) AS lag
  FROM ga4_outbox.events
  WHERE occurred_at >= $1 AND occurred_at < $2 AND status = 'delivered' AND delivered_at IS NOT NULL
) d
GROUP BY 1`

// topErrorsSQL lists the most frequent last errors (any status) in the
// window; events_last_error_idx keeps it to the rows that have one.
const topErrorsSQL = `
SELECT left(last_error, 200) AS err, count(*)
FROM ga4_outbox.events
WHERE occurred_at >= $1 AND occurred_at < $2 AND last_error IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT $3`
