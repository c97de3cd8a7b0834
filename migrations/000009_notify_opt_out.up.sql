-- ga4-outbox schema, version 9: a transaction can opt out of the NOTIFY.
--
-- PostgreSQL refuses to PREPARE a transaction that executed NOTIFY
-- ("cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or
-- NOTIFY"), and version 4's trigger notifies whenever an idle poller has
-- armed the gate: an application that commits in two phases (XA) failed
-- now and then, depending on the poller's state. Such a transaction sets
--     SET LOCAL ga4_outbox.notify = 'off';
-- before it enqueues: the trigger then never notifies. Its rows are still
-- claimed: while no poller is armed the enqueue keeps any from arming
-- (idle pollers claim every few milliseconds, as for every enqueue); if
-- one was armed already, the rows wait for the next notifying enqueue or
-- the poller's schedule (poller.schedule, 10 s by default).
-- Any other value, or none, keeps version 4's behaviour.
CREATE OR REPLACE FUNCTION ga4_outbox.notify_events() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(1734423663, 1)
       AND current_setting('ga4_outbox.notify', true) IS DISTINCT FROM 'off' THEN
        PERFORM pg_notify('ga4_outbox_events', '');
    END IF;
    RETURN NULL;
END;
$$;
