-- ga4-outbox: what an application role needs to enqueue conversions.
--
-- The application writes ga4_outbox.events in its own transaction (with
-- outbox.Enqueue in Go, or a plain INSERT ... ON CONFLICT DO NOTHING from
-- any language). It needs INSERT, and SELECT on the four columns
-- outbox.Enqueue and outbox.EnqueueRefund read back to tell a new row from
-- a retried one (id, event_name, transaction_id, refund_id). It cannot read
-- the ids, consent or delivery state of other rows, nor change or delete
-- any row. (A refund takes its purchase's ids and consent through the
-- SECURITY DEFINER trigger events_refund_defaults, not through this role.)
--
-- Apply after `ga4-outbox migrate up`, as the schema owner or a superuser,
-- naming your application's existing role:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -v app_role=shop -f deploy/sql/app-grants.sql

\set ON_ERROR_STOP on
\if :{?app_role}
\else
  \echo 'app-grants.sql: pass the application role: psql -v app_role=<role> -f app-grants.sql'
  SELECT 1/0 AS app_role_is_required;
\endif

GRANT USAGE ON SCHEMA ga4_outbox TO :"app_role";
GRANT INSERT ON ga4_outbox.events TO :"app_role";
GRANT SELECT (id, event_name, transaction_id, refund_id) ON ga4_outbox.events TO :"app_role";
GRANT USAGE ON SEQUENCE ga4_outbox.events_id_seq TO :"app_role";
