DROP TABLE IF EXISTS ga4_outbox.outcomes;
