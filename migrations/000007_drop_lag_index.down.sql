-- Back to schema version 6: the lag histogram's partial index.
CREATE INDEX IF NOT EXISTS events_delivered_lag_idx
    ON ga4_outbox.events (occurred_at) INCLUDE (delivery_lag_s, attempts, delivered_at)
    WHERE status = 'delivered';
