package reconcile

// The report's SQL. classifySQL is the one place the bucket rules live in
// SQL; ga4.CheckAttribution is the same rule in Go and a test holds the two
// together. Parameters everywhere: $1 since, $2 until (business time,
// [since, until)), $3 stuck_before (now - stuck_after).
//
// The rules, innermost first (the same as ga4.NormalizeClientID,
// ga4.ParseSessionID and ga4.CheckAttribution; see docs/REPORT.md):
//   - client_ok: client_id, trimmed, is two positive integers (at most 19
//     digits each) joined by a dot, or a GA<n>.<x>.<a>.<b> cookie whose last
//     two parts are; a row the poller skipped as missing_client_id never
//     counts as having one.
//   - sid: the session start (10 digits, Unix seconds) from a plain
//     session_id or a GS1 / GS2 cookie value; usable when >= 2020-01-01.
//   - sent_at: the timestamp sent (session_event_at, else occurred_at),
//     clamped to the delivery time; in_session when session_event_at is set.
//   - att_reason: NULL when GA4 can join the delivered event to its session,
//     else the ga4.Reason* constant that says why not, first failing rule
//     first.
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
  SELECT s.*,
         CASE WHEN s.status = 'delivered' AND s.sid_ok THEN
           CASE
             WHEN s.sent_at < s.session_start THEN 'timestamp_before_session'
             WHEN s.sent_at > s.session_start + interval '24 hours' THEN 'timestamp_outside_session'
             WHEN s.session_event_at IS NULL AND s.sent_at > s.session_start + interval '30 minutes'
               THEN 'timestamp_outside_session'
             WHEN s.delivered_at > s.session_start + interval '24 hours' THEN 'sent_after_24h'
           END
         END AS att_reason
  FROM (
    SELECT r.*,
           coalesce(r.sid >= '1577836800', false) AS sid_ok,
           to_timestamp(r.sid::bigint) AS session_start
    FROM (
      SELECT t.*,
             coalesce(t.cid ~ '^(?=0*[1-9])[0-9]{1,19}\.(?=0*[1-9])[0-9]{1,19}$'
                      OR t.cid ~ '^GA[0-9]+\.[^.]*\.(?=0*[1-9])[0-9]{1,19}\.(?=0*[1-9])[0-9]{1,19}$', false)
               AND NOT (t.status = 'skipped' AND t.reason IS NOT DISTINCT FROM 'missing_client_id') AS client_ok,
             CASE
               WHEN t.sidt ~ '^[0-9]{10}$' THEN t.sidt
               WHEN t.sidt ~ '^GS1\.[^.]*\.[0-9]{10}\.[0-9]{1,18}(\.[^.]*(\.[0-9]{10}(\..*)?)?)?$'
                 THEN split_part(t.sidt, '.', 3)
               WHEN t.sidt ~ '^GS2\.[0-9]+\.(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?(\$(s[0-9]{10}|o[0-9]{1,18}|t[0-9]{10}|[^sot$][^$]*)?)*$'
                 THEN substring(t.sidt FROM '(?:^GS2\.[0-9]+\.|\$)s([0-9]{10})')
             END AS sid
      FROM (
        SELECT e.id, e.transaction_id, e.value, e.source, e.occurred_at, e.session_event_at,
               e.status, e.reason, e.attempts, e.created_at, e.delivered_at, e.client_id, e.session_id,
               coalesce(e.currency, '') AS currency,
               least(coalesce(e.session_event_at, e.occurred_at), e.delivered_at) AS sent_at,
               btrim(e.client_id, E' \t\n\r\v\f') AS cid,
               CASE WHEN strpos(e.session_id, '%24') > 0
                    THEN replace(btrim(e.session_id, E' \t\n\r\v\f'), '%24', '$')
                    ELSE btrim(e.session_id, E' \t\n\r\v\f') END AS sidt
        FROM ga4_outbox.events e
        WHERE e.occurred_at >= $1 AND e.occurred_at < $2
      ) t
    ) r
  ) s
) c`

// aggregateSQL groups the classified window by currency, source, day,
// bucket, reason and stuck flag in one parallel pass. The groups are few
// (currencies x sources x days x buckets), so Go folds them into the
// sections exactly; the rows themselves never leave the database.
const aggregateSQL = `
SELECT currency,
       coalesce(source, '(none)') AS source,
       (occurred_at AT TIME ZONE 'UTC')::date AS day,
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

// lagSQL sorts the delivered rows once for both percentiles.
const lagSQL = `
SELECT coalesce(percentile_cont(ARRAY[0.5, 0.95]::float8[]) WITHIN GROUP (ORDER BY lag), ARRAY[0, 0]::float8[]),
       coalesce(max(lag), 0)
FROM (
  SELECT extract(epoch FROM delivered_at - occurred_at)::float8 AS lag
  FROM ga4_outbox.events
  WHERE occurred_at >= $1 AND occurred_at < $2 AND status = 'delivered' AND delivered_at IS NOT NULL
) d`

// topErrorsSQL lists the most frequent last errors (any status) in the
// window; events_last_error_idx keeps it to the rows that have one.
const topErrorsSQL = `
SELECT left(last_error, 200) AS err, count(*)
FROM ga4_outbox.events
WHERE occurred_at >= $1 AND occurred_at < $2 AND last_error IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT $3`
