DROP TABLE IF EXISTS ga4_outbox.reconcile_runs;
DROP TRIGGER IF EXISTS events_notify ON ga4_outbox.events;
DROP FUNCTION IF EXISTS ga4_outbox.notify_events();
DROP TABLE IF EXISTS ga4_outbox.events;
