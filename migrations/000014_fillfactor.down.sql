ALTER TABLE ga4_outbox.events RESET (fillfactor);
