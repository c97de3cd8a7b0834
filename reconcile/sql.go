package reconcile

// The report's SQL. Parameters everywhere: $1 since, $2 until (business
// time, [since, until)), $3 stuck_before (now - stuck_after).
//
// The classification itself lives in migration 000003: the generated column
// bucket_reason ("bucket:reason", from ga4_outbox.bucket_reason) is
// computed by every INSERT and UPDATE with the same rules as
// ga4.NormalizeClientID, ga4.ParseSessionID and ga4.CheckAttribution (a test
// holds them together). The report only groups: plain columns with
// statistics let the planner choose a parallel partial hash aggregate.

// classifySQL lists the window's rows with their bucket_reason (the
// cross-check test reads it).
const classifySQL = `
SELECT e.*
FROM ga4_outbox.events e
WHERE e.occurred_at >= $1 AND e.occurred_at < $2`

// aggregateSQL groups the window by currency, source, day, bucket:reason
// and pending state in one parallel pass with as few aggregates as
// possible (they cost more than the scan). The pending state goes by the
// status column, whatever the bucket (a pending row without a session_id
// is in missing_session_id and still pending): NULL when not pending, else
// whether the row is stuck (created before $3). The planner estimates a
// boolean group key as two groups, so the estimate stays small enough for
// a parallel partial hash aggregate. The groups are few, so Go folds them
// into the sections exactly (currencies in upper case, as they are sent);
// the rows themselves never leave the database. min/max transaction_id
// give the examples for free; min(created_at) of a pending group is its
// oldest pending row. Refunds are not conversions: the refunds section
// (refunds.go) nets them out.
const aggregateSQL = `
SELECT currency,
       coalesce(source, '(none)') AS source,
       occurred_day,
       bucket_reason,
       CASE WHEN status = 'pending' THEN created_at < $3 END AS stuck,
       count(*) AS conversions,
       coalesce(sum(value), 0)::text AS revenue,
       coalesce(min(transaction_id), '') AS tx_min,
       coalesce(max(transaction_id), '') AS tx_max,
       min(created_at) AS oldest
FROM ga4_outbox.events
WHERE occurred_at >= $1 AND occurred_at < $2 AND event_name <> 'refund'
GROUP BY 1, 2, 3, 4, 5`

// lagSQL is the histogram of delivery lag in whole seconds (the generated
// column delivery_lag_s) over delivered rows, with their attempts: one
// parallel hash aggregate (over a parallel scan of the window) instead of
// a single-threaded sort of every delivered row; Go reads the percentiles off it (percentileCont). The
// exact maximum is taken over intervals, converted once per group.
const lagSQL = `
SELECT delivery_lag_s, count(*), coalesce(date_part('epoch', max(delivered_at - occurred_at)), 0),
       sum(attempts), max(attempts), count(*) FILTER (WHERE attempts > 1)
FROM ga4_outbox.events
WHERE occurred_at >= $1 AND occurred_at < $2 AND status = 'delivered'
GROUP BY 1`

// topErrorsSQL lists the most frequent last errors (any status) in the
// window; events_last_error_idx keeps it to the rows that have one. Texts
// that differ only in the values they quote or in numbers of four digits
// or more ("session_id 1700000000123 looks like milliseconds", one per
// row) are one group, named by its shape ("session_id <n> looks like
// milliseconds"), or by its text when all its rows carry the same one.
// Each group also gives its number of distinct texts and one of them. The
// shapes are computed once per distinct text, not per row.
const topErrorsSQL = `
WITH texts AS (
    SELECT left(last_error, 200) AS err, count(*) AS n
    FROM ga4_outbox.events
    WHERE occurred_at >= $1 AND occurred_at < $2 AND last_error IS NOT NULL
    GROUP BY 1
), shaped AS (
    SELECT regexp_replace(regexp_replace(err, '"(?:[^"\\]|\\.)*"', '"…"', 'g'), '[0-9]{4,}', '<n>', 'g') AS shape,
           err, n
    FROM texts
)
SELECT CASE WHEN count(*) = 1 THEN min(err) ELSE shape END, sum(n)::bigint, count(*), min(err)
FROM shaped
GROUP BY shape
ORDER BY 2 DESC, 1
LIMIT $3`

// historyRuns is the number of nightly runs the trend chart shows.
const historyRuns = 30

// historySQL lists the attributable share per currency of the last $2
// finished nightly runs that ended by $1 (the window's start), oldest
// first, from the summary each run stored.
const historySQL = `
SELECT r.window_start, r.window_end, s->>'currency', (s->>'attributable_share')::float8
FROM (
    SELECT window_start, window_end, summary
    FROM ga4_outbox.reconcile_runs
    WHERE trigger = 'nightly' AND finished_at IS NOT NULL AND window_end <= $1
    ORDER BY window_end DESC
    LIMIT $2
) r
CROSS JOIN LATERAL jsonb_array_elements(CASE jsonb_typeof(r.summary) WHEN 'array' THEN r.summary ELSE '[]' END) s
ORDER BY r.window_end, 3`
