-- Back to a NOTIFY per enqueueing statement (schema version 3).
CREATE OR REPLACE FUNCTION ga4_outbox.notify_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ga4_outbox_events', '');
    RETURN NULL;
END;
$$;
