package sqlrole_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// bundle is one test's database, with the roles role.sql and app-grants.sql
// created in it, and a connection for each.
type bundle struct {
	admin   *pgx.Conn // the schema owner
	sidecar *pgx.Conn // connected as the role of role.sql
	app     *pgx.Conn // connected as an application role given app-grants.sql
	role    string
}

// setup applies the scripts with psql, as a user would, under per-test role
// names (roles are cluster-wide and tests run in parallel), and drops the
// roles when the test ends.
func setup(t *testing.T) *bundle {
	t.Helper()
	psql := requirePsql(t)
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	suffix := randomHex(t)
	b := &bundle{role: "ga4o_sidecar_" + suffix}
	appRole := "ga4o_app_" + suffix

	b.admin = connect(t, dbURL)
	t.Cleanup(func() { dropRoles(t, dbURL, b.role, appRole) })
	_, err := b.admin.Exec(ctx, `
		CREATE TABLE public.orders (id text PRIMARY KEY, total numeric NOT NULL);
		INSERT INTO public.orders VALUES ('A-1', 49.90);
		CREATE ROLE `+appRole+` LOGIN;
		GRANT SELECT, UPDATE ON public.orders TO `+appRole)
	require.NoError(t, err)

	for range 2 { // twice: the script is idempotent
		runPsql(t, psql, dbURL, "role.sql", "role="+b.role)
	}
	runPsql(t, psql, dbURL, "app-grants.sql", "app_role="+appRole)

	b.sidecar = connect(t, roleURL(t, b.admin, dbURL, b.role))
	b.app = connect(t, roleURL(t, b.admin, dbURL, appRole))
	return b
}

func TestSidecarRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("is a plain login role", func(t *testing.T) {
		var super, createDB, createRole, login bool
		require.NoError(t, b.admin.QueryRow(ctx,
			`SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1`,
			b.role).Scan(&super, &createDB, &createRole, &login))
		require.Equal(t, []bool{false, false, false, true}, []bool{super, createDB, createRole, login})
	})

	t.Run("enqueues, claims, marks, reads and deletes events", func(t *testing.T) {
		var id int64
		require.NoError(t, b.sidecar.QueryRow(ctx, `
			INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id)
			VALUES ('R-1', 10, 'EUR', '1.2', '1732780800') RETURNING id`).Scan(&id))
		var claimed []int64
		rows, err := b.sidecar.Query(ctx, `
			WITH picked AS (
			    SELECT id FROM ga4_outbox.events
			     WHERE status = 'pending' AND next_attempt_at <= now()
			     ORDER BY deadline_at, id
			       FOR UPDATE SKIP LOCKED LIMIT 10)
			UPDATE ga4_outbox.events e
			   SET lease_owner = 'test', lease_token = gen_random_uuid(),
			       next_attempt_at = now() + interval '1 minute', attempts = attempts + 1
			  FROM picked WHERE e.id = picked.id
			RETURNING e.id`)
		require.NoError(t, err)
		claimed, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		require.Equal(t, []int64{id}, claimed)
		tag, err := b.sidecar.Exec(ctx, `
			UPDATE ga4_outbox.events SET status = 'delivered', delivered_at = now(), lease_owner = NULL
			 WHERE id = ANY($1)`, claimed)
		require.NoError(t, err)
		require.EqualValues(t, 1, tag.RowsAffected())
		tag, err = b.sidecar.Exec(ctx, `DELETE FROM ga4_outbox.events WHERE status = 'delivered'`)
		require.NoError(t, err)
		require.EqualValues(t, 1, tag.RowsAffected())
	})

	t.Run("sums and folds the row counts, written by the triggers", func(t *testing.T) {
		_, err := b.app.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency) VALUES ('RC-1', 5, 'EUR')`)
		require.NoError(t, err)
		var pending int64
		require.NoError(t, b.sidecar.QueryRow(ctx, `SELECT pending FROM ga4_outbox.row_count_totals()`).Scan(&pending))
		require.Positive(t, pending)
		_, err = b.sidecar.Exec(ctx, `SELECT ga4_outbox.compact_row_counts(1)`)
		require.NoError(t, err)
		_, err = b.sidecar.Exec(ctx, `INSERT INTO ga4_outbox.row_counts (pending) VALUES (1)`)
		require.Error(t, err, "only the triggers write the counts")
	})

	t.Run("writes the report history", func(t *testing.T) {
		var id int64
		require.NoError(t, b.sidecar.QueryRow(ctx, `
			INSERT INTO ga4_outbox.reconcile_runs (window_start, window_end)
			VALUES (now() - interval '1 day', now()) RETURNING id`).Scan(&id))
		_, err := b.sidecar.Exec(ctx,
			`UPDATE ga4_outbox.reconcile_runs SET finished_at = now(), summary = '{"lost": 0}' WHERE id = $1`, id)
		require.NoError(t, err)
		_, err = b.sidecar.Exec(ctx, `DELETE FROM ga4_outbox.reconcile_runs WHERE id = $1`, id)
		require.NoError(t, err)
	})

	t.Run("reads the migration version and takes advisory locks", func(t *testing.T) {
		var version int64
		require.NoError(t, b.sidecar.QueryRow(ctx, `SELECT version FROM ga4_outbox.schema_migrations`).Scan(&version))
		require.Positive(t, version)
		var locked bool
		require.NoError(t, b.sidecar.QueryRow(ctx, `SELECT pg_try_advisory_lock(42)`).Scan(&locked))
		require.True(t, locked)
	})

	t.Run("is denied what it was not granted", func(t *testing.T) {
		for _, sql := range []string{
			`SELECT * FROM public.orders`,
			`CREATE TABLE ga4_outbox.extra (id int)`,
			`CREATE TABLE public.extra (id int)`,
			`TRUNCATE ga4_outbox.events`,
			`DROP TABLE ga4_outbox.events`,
			`ALTER TABLE ga4_outbox.events ADD COLUMN x int`,
			`UPDATE ga4_outbox.schema_migrations SET dirty = true`,
			`SELECT setval('ga4_outbox.events_id_seq', 1)`,
		} {
			requireDenied(t, b.sidecar, sql)
		}
	})

	t.Run("reads orders once the documented grant is applied", func(t *testing.T) {
		_, err := b.admin.Exec(ctx, fmt.Sprintf(`GRANT SELECT ON public.orders TO %s`, pgx.Identifier{b.role}.Sanitize()))
		require.NoError(t, err)
		var n int
		require.NoError(t, b.sidecar.QueryRow(ctx, `SELECT count(*) FROM public.orders`).Scan(&n))
		require.Equal(t, 1, n)
	})
}

func TestSidecarRoleListensToAppInserts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := b.sidecar.Exec(ctx, `LISTEN ga4_outbox_events`)
	require.NoError(t, err)
	var armed bool // an idle poller arms the notify gate (migration 000004)
	require.NoError(t, b.sidecar.QueryRow(ctx, `SELECT pg_try_advisory_lock(1734423663, 1)`).Scan(&armed))
	require.True(t, armed)
	_, err = b.app.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency) VALUES ('L-1', 5, 'EUR')`)
	require.NoError(t, err)

	n, err := b.sidecar.WaitForNotification(ctx)
	require.NoError(t, err, "the app's insert woke the sidecar")
	require.Equal(t, "ga4_outbox_events", n.Channel)
}

func TestAppRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	conv := outbox.Conversion{
		EventName: "purchase", TransactionID: "A-1", Value: "49.90", Currency: "EUR",
		ClientID: "1197596843.1673515099", SessionID: "1747132561",
		AnalyticsStorage: outbox.ConsentGranted, Source: "role_test",
	}

	t.Run("enqueues in its own transaction, once", func(t *testing.T) {
		for i, wantDup := range []bool{false, true} {
			var res outbox.EnqueueResult
			err := pgx.BeginFunc(ctx, b.app, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `UPDATE public.orders SET total = total WHERE id = 'A-1'`); err != nil {
					return err
				}
				var err error
				res, err = outbox.Enqueue(ctx, tx, conv)
				return err
			})
			require.NoError(t, err, "enqueue %d", i)
			require.Equal(t, wantDup, res.Duplicate, "enqueue %d", i)
		}
	})

	t.Run("cannot read ids nor change rows", func(t *testing.T) {
		for _, sql := range []string{
			`SELECT client_id FROM ga4_outbox.events`,
			`SELECT * FROM ga4_outbox.events`,
			`UPDATE ga4_outbox.events SET status = 'delivered'`,
			`DELETE FROM ga4_outbox.events`,
			`SELECT * FROM ga4_outbox.reconcile_runs`,
		} {
			requireDenied(t, b.app, sql)
		}
	})
}

func requireDenied(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	_, err := conn.Exec(context.Background(), sql)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%s: want a PostgreSQL error, got %v", sql, err)
	require.Contains(t, []string{"42501"}, pgErr.Code, "%s: want insufficient_privilege, got %v", sql, err)
}

func requirePsql(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("psql")
	if err != nil {
		msg := "role tests apply the scripts with psql: apt-get install postgresql-client"
		if os.Getenv(pgtest.EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func runPsql(t *testing.T, psql, dbURL, file, variable string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", variable, "-f", file, dbURL)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "psql -f %s: %s", file, out)
}

// roleURL gives role a random password (so the test works with password
// authentication too) and returns dbURL with that user.
func roleURL(t *testing.T, admin *pgx.Conn, dbURL, role string) string {
	t.Helper()
	password := randomHex(t)
	_, err := admin.Exec(context.Background(),
		fmt.Sprintf(`ALTER ROLE %s PASSWORD '%s'`, pgx.Identifier{role}.Sanitize(), password))
	require.NoError(t, err)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.User = url.UserPassword(role, password)
	return u.String()
}

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err, "connect as the test role")
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// dropRoles revokes what the roles hold in the test database and drops
// them; it runs before pgtest drops the database.
func dropRoles(t *testing.T, dbURL string, roles ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Logf("drop test roles: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, r := range roles {
		id := pgx.Identifier{r}.Sanitize()
		if _, err := conn.Exec(ctx, `DROP OWNED BY `+id); err != nil {
			t.Logf("drop owned by %s: %v", r, err)
		}
		if _, err := conn.Exec(ctx, `DROP ROLE IF EXISTS `+id); err != nil {
			t.Logf("drop role %s: %v", r, err)
		}
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
