package reconcile

// The "Credited in GA4" section's SQL (credited.go). Parameters: $1 since,
// $2 until (business time, [since, until)).

// outcomesImportedSQL says whether the outcomes table holds any row, so a
// report on a database where no outcome was ever imported costs one probe
// and no second pass over the window; false when the schema predates the
// table. (Whether the window's own orders have outcomes is known after the
// pass: Credited.Imported.)
const outcomesImportedSQL = `
SELECT to_regclass('ga4_outbox.outcomes') IS NOT NULL
   AND EXISTS (SELECT 1 FROM ga4_outbox.outcomes)`

// creditedSQL groups the window's purchase rows by currency, source,
// bucket, whether they were sent, and GA4's outcome (not_checked without
// one), its finality, channel and whether GA4's currency is ours. Each
// row takes one outcome: the one of its own stream when the import
// recorded the measurement id (NULL is the default property on both
// sides), else the most recently checked. Revenue is ours; ga_revenue is
// GA4's. The LATERAL probes outcomes_transaction_idx once per purchase of
// the window: ranking the outcomes with DISTINCT ON after a hash join
// instead sorts every transaction id and took longer
// (BenchmarkCreditedDay, docs/PERFORMANCE.md has the figures).
const creditedSQL = `
SELECT e.currency,
       coalesce(e.source, '(none)'),
       e.bucket_reason,
       e.status = 'delivered',
       coalesce(o.outcome, 'not_checked'),
       coalesce(o.final, false),
       o.channel,
       coalesce(upper(trim(o.ga_currency)) = upper(trim(e.currency)), false),
       count(*),
       coalesce(sum(e.value), 0)::text,
       coalesce(sum(o.ga_revenue), 0)::text
FROM ga4_outbox.events e
LEFT JOIN LATERAL (
    SELECT o.outcome, o.final, o.channel, o.ga_currency, o.ga_revenue
    FROM ga4_outbox.outcomes o
    WHERE o.transaction_id = e.transaction_id
    ORDER BY o.measurement_id IS NOT DISTINCT FROM e.measurement_id DESC, o.checked_at DESC
    LIMIT 1
) o ON true
WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND e.event_name = 'purchase'
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`
