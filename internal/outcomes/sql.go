package outcomes

// sqlDue selects the purchases whose outcome is missing or provisional:
// every purchase row with a transaction id whose business time is in
// [$1, $2), sent or not (a purchase GA4 has although we never sent it is
// worth knowing). $3 and $4 pair measurement ids (an empty string for rows without one)
// with property ids; $5 is the default measurement id, whose rows count as
// rows without one. Rows of a measurement id without a property id come
// back with a NULL property_id, so that the caller can say so. event_day
// is the UTC date of the time sent to GA4 (the in-session time, else the
// business time); rows come sorted for grouping by property and day.
// The window reads events_occurred_idx; the final outcomes the primary key.
const sqlDue = `
WITH props AS (
    SELECT * FROM unnest($3::text[], $4::text[]) AS p(measurement_id, property_id)
)
SELECT p.property_id, e.measurement_id, e.transaction_id, e.occurred_at, coalesce(e.currency, ''),
       (coalesce(e.session_event_at, e.occurred_at) AT TIME ZONE 'UTC')::date
FROM ga4_outbox.events e
LEFT JOIN props p ON p.measurement_id = coalesce(nullif(e.measurement_id, $5), '')
WHERE e.event_name = 'purchase' AND e.transaction_id <> ''
  AND e.occurred_at >= $1 AND e.occurred_at < $2
  AND NOT EXISTS (SELECT 1 FROM ga4_outbox.outcomes o
                  WHERE o.property_id = p.property_id AND o.transaction_id = e.transaction_id AND o.final)
ORDER BY p.property_id, 6, e.transaction_id`

// sqlUpsert writes the outcomes of one answer ($1 property id, $2 the
// check time, then one array per column) in one statement. A final row is
// never overwritten; first_checked_at keeps the first check.
const sqlUpsert = `
INSERT INTO ga4_outbox.outcomes AS o (property_id, transaction_id, measurement_id, outcome, detail, final,
    channel, source_medium, campaign, ga_revenue, ga_currency, ga_purchases, ordered_at, first_checked_at, checked_at)
SELECT $1, t.transaction_id, t.measurement_id, t.outcome, t.detail, t.final, t.channel, t.source_medium,
       t.campaign, t.ga_revenue::numeric, t.ga_currency, t.ga_purchases, t.ordered_at, $2, $2
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[], $9::text[], $10::text[],
            $11::text[], $12::text[], $13::bigint[], $14::timestamptz[])
    AS t(transaction_id, measurement_id, outcome, detail, final, channel, source_medium, campaign,
         ga_revenue, ga_currency, ga_purchases, ordered_at)
ON CONFLICT (property_id, transaction_id) DO UPDATE SET
    measurement_id = EXCLUDED.measurement_id, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,
    final = EXCLUDED.final, channel = EXCLUDED.channel, source_medium = EXCLUDED.source_medium,
    campaign = EXCLUDED.campaign, ga_revenue = EXCLUDED.ga_revenue, ga_currency = EXCLUDED.ga_currency,
    ga_purchases = EXCLUDED.ga_purchases, ordered_at = EXCLUDED.ordered_at, checked_at = EXCLUDED.checked_at
WHERE NOT o.final`
