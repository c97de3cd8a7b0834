-- ga4-outbox: the least-privilege database role of the sidecar.
--
-- What `ga4-outbox run`, `drain`, `status`, `retry` and `report` need, and
-- nothing more: read and write the outbox and the report history inside the
-- ga4_outbox schema, LISTEN for new rows, read the migration version for
-- /readyz. No superuser, no CREATE anywhere, no rights on the application's
-- tables (grant SELECT on what reconcile.orders_query reads, see the end).
--
-- Apply it after `ga4-outbox migrate up`, as the owner of the ga4_outbox
-- schema (the role that ran the migrations) or a superuser:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f deploy/sql/role.sql
--   psql "$ADMIN_URL" -c '\password ga4_outbox'     # set its password
--
-- The role is named ga4_outbox unless you pass another name with
-- -v role=my_name. The script is idempotent: run it again after every
-- upgrade that adds tables, so the role gets exactly the new ones.
--
-- Migrations are NOT run by this role. Run `ga4-outbox migrate up` as the
-- schema owner: either your usual admin role, or a dedicated migration role
-- that owns the schema, created once by a superuser:
--
--   CREATE ROLE ga4_outbox_migrator LOGIN;
--   CREATE SCHEMA ga4_outbox AUTHORIZATION ga4_outbox_migrator;
--
-- (golang-migrate then creates its version table, ga4_outbox.schema_migrations,
-- inside that schema.) The sidecar's own connection URL uses the ga4_outbox
-- role below; `ga4-outbox migrate` gets the owner's URL (DATABASE_URL).
--
-- The application that enqueues conversions needs far less: see
-- app-grants.sql next to this file.

\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role ga4_outbox
\endif

-- The role itself: may log in, nothing else.
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Connect to this database (PUBLIC usually may already; hardened servers
-- revoke that).
GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";

-- Find objects in the ga4_outbox schema; no CREATE.
GRANT USAGE ON SCHEMA ga4_outbox TO :"role";

-- The outbox: enqueue (demo, tests), claim and mark (UPDATE), the retention
-- job (DELETE), status and the report (SELECT). No TRUNCATE, no TRIGGER,
-- no REFERENCES.
GRANT SELECT, INSERT, UPDATE, DELETE ON ga4_outbox.events TO :"role";

-- The report history: one row per reconciliation run, finished by UPDATE,
-- pruned by DELETE.
GRANT SELECT, INSERT, UPDATE, DELETE ON ga4_outbox.reconcile_runs TO :"role";

-- What GA4 credited per purchase: written by `outcomes fetch` (INSERT ...
-- ON CONFLICT DO UPDATE), read by the report.
GRANT SELECT, INSERT, UPDATE, DELETE ON ga4_outbox.outcomes TO :"role";

-- Their identity sequences. PostgreSQL does not check these for identity
-- columns, but a restore or a manual nextval() does; USAGE is the smallest
-- right (no setval).
GRANT USAGE ON SEQUENCE ga4_outbox.events_id_seq, ga4_outbox.reconcile_runs_id_seq TO :"role";

-- The statement-level trigger function that NOTIFYs ga4_outbox_events when
-- rows are inserted. LISTEN itself needs no grant.
GRANT EXECUTE ON FUNCTION ga4_outbox.notify_events() TO :"role";

-- The row counts (schema version 13): the metrics, status and drain sum
-- them, the poller folds them. Both functions run as the schema owner, so
-- the role needs no right on ga4_outbox.row_counts itself.
GRANT EXECUTE ON FUNCTION ga4_outbox.row_count_totals(), ga4_outbox.compact_row_counts(integer) TO :"role";

-- /readyz compares the applied migration version with the binary's.
GRANT SELECT ON ga4_outbox.schema_migrations TO :"role";

-- Nothing on the application's tables. When reconcile.orders_query is set,
-- grant SELECT on exactly the tables (or columns) it reads, for example:
--
--   GRANT SELECT ON public.orders TO ga4_outbox;
--   GRANT SELECT (id, total, currency, paid_at) ON public.orders TO ga4_outbox;
