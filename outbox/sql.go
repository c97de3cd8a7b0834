package outbox

// Every SQL statement of the package, in one place. All of them are
// schema-qualified; the sidecar never depends on search_path.

// sqlEnqueue inserts one conversion, or nothing when (event_name,
// transaction_id) already exists, and returns the row's id with a duplicate
// flag. The second branch reads the existing row; it sees nothing when the
// conflicting row was committed after this statement's snapshot (see
// Enqueue).
const sqlEnqueue = `
WITH ins AS (
    INSERT INTO ga4_outbox.events (
        event_name, transaction_id, value, currency, params, user_properties,
        client_id, session_id, user_id,
        consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
        session_event_at, occurred_at, source, measurement_id)
    VALUES (
        $1, NULLIF($2, ''), NULLIF($3::text, '')::numeric, NULLIF($4, ''), $5::jsonb, $6::jsonb,
        NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''),
        NULLIF($10, ''), NULLIF($11, ''), NULLIF($12, ''),
        $13, COALESCE($14, now()), NULLIF($15, ''), NULLIF($16, ''))
    ON CONFLICT (event_name, transaction_id) WHERE transaction_id <> '' DO NOTHING
    RETURNING id
)
SELECT id, false FROM ins
UNION ALL
SELECT id, true FROM ga4_outbox.events
 WHERE event_name = $1 AND transaction_id = $2 AND $2 <> ''
   AND NOT EXISTS (SELECT 1 FROM ins)
LIMIT 1`

// sqlFindDuplicate looks the existing row up again, in a new snapshot.
const sqlFindDuplicate = `
SELECT id FROM ga4_outbox.events WHERE event_name = $1 AND transaction_id = $2`
