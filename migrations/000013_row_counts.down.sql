-- Back to schema version 12: counts read the rows again.
DROP TRIGGER IF EXISTS events_count_insert ON ga4_outbox.events;
DROP TRIGGER IF EXISTS events_count_update ON ga4_outbox.events;
DROP TRIGGER IF EXISTS events_count_delete ON ga4_outbox.events;
DROP TRIGGER IF EXISTS events_count_truncate ON ga4_outbox.events;
DROP FUNCTION IF EXISTS ga4_outbox.compact_row_counts(integer);
DROP FUNCTION IF EXISTS ga4_outbox.row_count_totals();
DROP FUNCTION IF EXISTS ga4_outbox.recount_rows();
DROP FUNCTION IF EXISTS ga4_outbox.count_rows();
DROP TABLE IF EXISTS ga4_outbox.row_counts;
