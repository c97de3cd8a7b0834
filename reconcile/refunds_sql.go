package reconcile

// The refunds section's SQL ($1 since, $2 until: the window of business
// time; $3 the number of example transaction ids). Refund rows are found
// through events_refund_idx (refunds by occurred_at, schema version 12),
// their purchase and their order's other refunds through the idempotency
// key events_dedup_key_idx: the section never scans the window's
// conversions (their revenue comes from the main aggregate).

// refundRevenueSQL sums the window's refunds per currency, and the part
// delivered to GA4.
const refundRevenueSQL = `
SELECT currency, count(*), coalesce(sum(value), 0)::text,
       count(*) FILTER (WHERE status = 'delivered'),
       coalesce(sum(value) FILTER (WHERE status = 'delivered'), 0)::text
FROM ga4_outbox.events
WHERE event_name = 'refund' AND occurred_at >= $1 AND occurred_at < $2
GROUP BY 1`

// refundFlagsSQL sorts each refund of the window into the kinds it
// carries (RefundKinds): by its purchase row's status and report bucket,
// by the sum of its order's refunds (any time) against the purchase's
// value, by currency, and by its own status.
const refundFlagsSQL = `
WITH r AS (
  SELECT e.transaction_id, upper(e.currency) AS currency, e.value, e.status,
         p.found, p.status AS p_status, split_part(p.bucket_reason, ':', 1) AS p_bucket,
         p.value AS p_value, upper(p.currency) AS p_currency, t.refunded
  FROM ga4_outbox.events e
  LEFT JOIN LATERAL (
    SELECT true AS found, status, bucket_reason, value, currency
    FROM ga4_outbox.events
    WHERE event_name = 'purchase' AND transaction_id = e.transaction_id AND transaction_id <> ''
      AND coalesce(refund_id, '') = ''
    LIMIT 1
  ) p ON true
  LEFT JOIN LATERAL (
    SELECT sum(value) AS refunded
    FROM ga4_outbox.events
    WHERE event_name = 'refund' AND transaction_id = e.transaction_id AND transaction_id <> ''
  ) t ON true
  WHERE e.event_name = 'refund' AND e.occurred_at >= $1 AND e.occurred_at < $2
)
SELECT kind, currency, count(*), coalesce(sum(value), 0)::text,
       (array_agg(DISTINCT transaction_id ORDER BY transaction_id) FILTER (WHERE transaction_id IS NOT NULL))[1:$3]
FROM r
CROSS JOIN LATERAL unnest(ARRAY[
  CASE WHEN p_status IS NULL THEN 'purchase_not_enqueued'
       WHEN p_status IN ('pending', 'failed') THEN 'purchase_not_sent'
       WHEN p_status = 'skipped' THEN 'purchase_skipped'
       WHEN p_bucket <> 'attributable' THEN 'purchase_not_attributable' END,
  CASE WHEN found AND refunded > p_value AND currency IS NOT DISTINCT FROM p_currency THEN 'exceeds_purchase' END,
  CASE WHEN found AND currency IS DISTINCT FROM p_currency THEN 'currency_differs' END,
  CASE WHEN status <> 'delivered' THEN 'refund_not_sent' END
]) AS kind
WHERE kind IS NOT NULL
GROUP BY kind, currency`

// refundOrdersSQL compares the operator's orders (the orders query with a
// refunded column) with the sum of each order's refund rows, any time;
// an order without refunds in the outbox has refunded 0. Only orders that
// disagree are returned, the first $3 by transaction id, each with the
// number of all such orders.
const refundOrdersSQL = `
SELECT o.transaction_id, o.currency, o.refunded::text, coalesce(t.refunded, 0)::text, count(*) OVER ()
FROM (
  SELECT q.transaction_id::text AS transaction_id, coalesce(upper(q.currency::text), '') AS currency,
         coalesce(q.refunded::numeric, 0) AS refunded
  FROM (%s
  ) AS q
) o
LEFT JOIN LATERAL (
  SELECT sum(value) AS refunded
  FROM ga4_outbox.events
  WHERE event_name = 'refund' AND transaction_id = o.transaction_id AND transaction_id <> ''
) t ON true
WHERE o.refunded <> coalesce(t.refunded, 0)
ORDER BY o.transaction_id
LIMIT $3`
