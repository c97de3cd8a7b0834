package outbox

// The package's SQL statements, in one place. Both are schema-qualified:
// Enqueue never depends on the application's search_path.

// sqlEnqueue inserts one conversion, or nothing when (event_name,
// transaction_id) already exists, and returns the new row's id (no row for
// a duplicate: Enqueue then looks the existing one up with
// sqlFindDuplicate). A plain INSERT, so that the common case is one
// cheap statement and only a duplicate pays for a second. ON CONFLICT
// names no target: the outbox's only unique index besides the primary key
// (always generated) is the idempotency key, whose definition changed in
// schema version 12, and the statement is right on both.
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
ON CONFLICT DO NOTHING
RETURNING id`

// sqlFindDuplicate looks the existing row up (at READ COMMITTED in a new
// snapshot, so it also sees a conflicting row committed meanwhile). It
// reads only the columns an application role may read
// (deploy/sql/app-grants.sql). A refund Conversion is looked up with
// sqlFindRefund instead: its order may have refund rows with ids too.
const sqlFindDuplicate = `
SELECT id FROM ga4_outbox.events WHERE event_name = $1 AND transaction_id = $2`

// sqlHasRefundIDs says whether the outbox has the refund_id column (schema
// version 12), from the catalogue, which every role may read: a statement
// naming a missing column would abort the caller's transaction.
const sqlHasRefundIDs = `
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
               WHERE attrelid = 'ga4_outbox.events'::regclass AND attname = 'refund_id' AND NOT attisdropped)`

// sqlEnqueueRefund inserts one refund (schema version 12), or nothing when
// (transaction_id, refund_id) already exists. The trigger
// events_refund_defaults completes it from the order's purchase row.
const sqlEnqueueRefund = `
INSERT INTO ga4_outbox.events (
    event_name, transaction_id, refund_id, value, currency, params,
    client_id, user_id,
    consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
    occurred_at, source, measurement_id)
VALUES (
    'refund', $1, NULLIF($2, ''), NULLIF($3::text, '')::numeric, NULLIF($4, ''), $5::jsonb,
    NULLIF($6, ''), NULLIF($7, ''),
    NULLIF($8, ''), NULLIF($9, ''), NULLIF($10, ''),
    COALESCE($11, now()), NULLIF($12, ''), NULLIF($13, ''))
ON CONFLICT DO NOTHING
RETURNING id`

// sqlFindRefund looks an existing refund up by its key (see
// sqlFindDuplicate).
const sqlFindRefund = `
SELECT id FROM ga4_outbox.events
WHERE event_name = 'refund' AND transaction_id = $1 AND transaction_id <> ''
  AND coalesce(refund_id, '') = $2`
