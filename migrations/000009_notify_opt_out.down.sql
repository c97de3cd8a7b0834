-- Back to version 4's trigger: ga4_outbox.notify is ignored again.
CREATE OR REPLACE FUNCTION ga4_outbox.notify_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(1734423663, 1) THEN
        PERFORM pg_notify('ga4_outbox_events', '');
    END IF;
    RETURN NULL;
END;
$$;
