package outbox

// The package's SQL statements, in one place. Both are schema-qualified:
// Enqueue never depends on the application's search_path.

// sqlEnqueue inserts one conversion, or nothing when (event_name,
// transaction_id) already exists, and returns the new row's id (no row for
// a duplicate: Enqueue then looks the existing one up with
// sqlFindDuplicate). A plain INSERT, so that the common case is one
// cheap statement and only a duplicate pays for a second.
const sqlEnqueue = `
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
RETURNING id`

// sqlFindDuplicate looks the existing row up (at READ COMMITTED in a new
// snapshot, so it also sees a conflicting row committed meanwhile).
const sqlFindDuplicate = `
SELECT id FROM ga4_outbox.events WHERE event_name = $1 AND transaction_id = $2`
