package dbmigrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// emptyMigrator is a migrator of a new empty database and a connection to
// it; both close when the test ends.
func emptyMigrator(t *testing.T) (*pgx.Conn, *dbmigrate.Migrator) {
	t.Helper()
	url := pgtest.EmptyURL(t)
	conn := connect(t, url)
	m, err := dbmigrate.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return conn, m
}

func tableExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok))
	return ok
}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	conn, m := emptyMigrator(t)

	v, dirty, err := m.Version()
	require.NoError(t, err)
	require.Zero(t, v)
	require.False(t, dirty)

	require.NoError(t, m.Up())
	require.True(t, tableExists(t, conn, "ga4_outbox.events"))
	require.True(t, tableExists(t, conn, "ga4_outbox.reconcile_runs"))
	v, _, err = m.Version()
	require.NoError(t, err)
	require.Equal(t, dbmigrate.Latest(), v)
	require.ErrorIs(t, m.Up(), dbmigrate.ErrNoChange)

	require.NoError(t, m.Down())
	require.False(t, tableExists(t, conn, "ga4_outbox.events"))
	require.True(t, tableExists(t, conn, "ga4_outbox.schema_migrations"), "the version table stays in our schema")

	require.NoError(t, m.Up())
	require.True(t, tableExists(t, conn, "ga4_outbox.events"))

	require.NoError(t, m.Steps(-1))
	v, _, err = m.Version()
	require.NoError(t, err)
	require.Less(t, v, dbmigrate.Latest())
}

// The host application uses golang-migrate too, with its own
// public.schema_migrations: ours must never touch it.
func TestHostSchemaMigrationsUntouched(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	conn := connect(t, url)
	ctx := context.Background()
	_, err := conn.Exec(ctx, `CREATE TABLE public.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
		INSERT INTO public.schema_migrations VALUES (42, false)`)
	require.NoError(t, err)

	m, err := dbmigrate.New(ctx, url)
	require.NoError(t, err)
	defer m.Close()
	require.NoError(t, m.Up())
	require.NoError(t, m.Down())
	require.NoError(t, m.Up())

	var version int64
	var dirty bool
	var rows int
	require.NoError(t, conn.QueryRow(ctx, `SELECT version, dirty, count(*) OVER () FROM public.schema_migrations`).Scan(&version, &dirty, &rows))
	require.Equal(t, int64(42), version)
	require.False(t, dirty)
	require.Equal(t, 1, rows)

	var ours int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT version FROM ga4_outbox.schema_migrations`).Scan(&ours))
	require.Equal(t, int64(dbmigrate.Latest()), ours)
}

func TestBadURLNeverEchoesPassword(t *testing.T) {
	t.Parallel()
	_, err := dbmigrate.New(context.Background(), "postgres://app:hunter2@[bad/host")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sql, constraint string
	}{
		{"unknown status", `INSERT INTO ga4_outbox.events (transaction_id, status, reason) VALUES ('T1', 'sent', 'x')`, "events_status_check"},
		{"failed without reason", `INSERT INTO ga4_outbox.events (transaction_id, status) VALUES ('T1', 'failed')`, "events_reason_required_check"},
		{"consent spelled wrong", `INSERT INTO ga4_outbox.events (transaction_id, consent_analytics_storage) VALUES ('T1', 'GRANTED')`, "events_consent_analytics_storage_check"},
		{"ad consent bad", `INSERT INTO ga4_outbox.events (transaction_id, consent_ad_user_data) VALUES ('T1', 'yes')`, "events_consent_ad_user_data_check"},
		{"ad personalization bad", `INSERT INTO ga4_outbox.events (transaction_id, consent_ad_personalization) VALUES ('T1', '1')`, "events_consent_ad_personalization_check"},
		{"empty event name", `INSERT INTO ga4_outbox.events (event_name, transaction_id) VALUES ('', 'T1')`, "events_event_name_check"},
		{"negative attempts", `INSERT INTO ga4_outbox.events (transaction_id, attempts) VALUES ('T1', -1)`, "events_attempts_check"},
		{"duplicate transaction", `INSERT INTO ga4_outbox.events (transaction_id) VALUES ('T1'), ('T1')`, "events_dedup_key_idx"},
		{"refund id on a purchase", `INSERT INTO ga4_outbox.events (transaction_id, refund_id) VALUES ('T1', 're_1')`, "events_refund_id_check"},
		{"empty report window", `INSERT INTO ga4_outbox.reconcile_runs (window_start, window_end) VALUES (now(), now())`, "reconcile_runs_window_check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx := pgtest.Tx(t)
			_, err := tx.Exec(context.Background(), tc.sql)
			var pgErr *pgconn.PgError
			require.True(t, errors.As(err, &pgErr), "want a PostgreSQL error, got %v", err)
			require.Equal(t, tc.constraint, pgErr.ConstraintName)
		})
	}
}

func TestDefaultsAndDeadline(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	ctx := context.Background()
	// The smallest INSERT a non-Go application can write.
	var (
		status, name string
		params       string
		deadline     *time.Time
		noDeadline   *time.Time
	)
	require.NoError(t, tx.QueryRow(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id)
		VALUES ('T-1', 49.90, 'EUR', '1197596843.1673515099', '1747132561')
		RETURNING status, event_name, params::text, deadline_at`).Scan(&status, &name, &params, &deadline))
	require.Equal(t, "pending", status)
	require.Equal(t, "purchase", name)
	require.Equal(t, "{}", params)
	require.NotNil(t, deadline)
	require.Equal(t, time.Unix(1747132561+86400, 0).UTC(), deadline.UTC())

	require.NoError(t, tx.QueryRow(ctx, `INSERT INTO ga4_outbox.events (transaction_id, session_id)
		VALUES ('T-2', 'GS2.1.s1747132561$o1') RETURNING deadline_at`).Scan(&noDeadline))
	require.Nil(t, noDeadline, "a raw cookie value has no deadline in SQL; the poller normalises it")

	// Empty transaction ids are not deduplicated against each other.
	_, err := tx.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id) VALUES (''), ('')`)
	require.NoError(t, err)
}

// The notify gate's lock (outbox.gateLockClass, outbox.gateLockObject).
const gateLock = `1734423663, 1`

// TestNotifyGate: an INSERT statement notifies once, and only while an idle
// poller holds the gate's lock; an open enqueueing transaction keeps a
// poller from arming. Absence is shown by a sentinel notification sent
// after the INSERT commits: it must be the first one to arrive.
func TestNotifyGate(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listener := connect(t, url)
	_, err := listener.Exec(ctx, `LISTEN ga4_outbox_events`)
	require.NoError(t, err)
	var rowLevel bool
	require.NoError(t, listener.QueryRow(ctx, `SELECT (tgtype & 1) = 1 FROM pg_trigger WHERE tgname = 'events_notify'`).Scan(&rowLevel))
	require.False(t, rowLevel, "the notify trigger must be statement-level")
	writer, poller := connect(t, url), connect(t, url)
	insert := func(prefix string) {
		_, err := writer.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id) SELECT $1 || g FROM generate_series(1, 3) g`, prefix)
		require.NoError(t, err)
	}
	next := func() string {
		n, err := listener.WaitForNotification(ctx)
		require.NoError(t, err)
		require.Equal(t, "ga4_outbox_events", n.Channel)
		return n.Payload
	}
	sentinel := func(p string) {
		_, err := writer.Exec(ctx, `SELECT pg_notify('ga4_outbox_events', $1)`, p)
		require.NoError(t, err)
	}

	t.Run("no poller armed: no notification", func(t *testing.T) {
		insert("A")
		sentinel("after-A")
		require.Equal(t, "after-A", next())
	})
	t.Run("armed: one notification per statement", func(t *testing.T) {
		_, err := poller.Exec(ctx, `SELECT pg_advisory_lock(`+gateLock+`)`)
		require.NoError(t, err)
		insert("B")
		sentinel("after-B")
		require.Equal(t, "", next())
		require.Equal(t, "after-B", next())
		_, err = poller.Exec(ctx, `SELECT pg_advisory_unlock(`+gateLock+`)`)
		require.NoError(t, err)
	})
	t.Run("armed, the transaction opted out: no notification", func(t *testing.T) {
		// ga4_outbox.notify = 'off' (migration 000009): a transaction that
		// will PREPARE must not NOTIFY, which PostgreSQL refuses to prepare.
		_, err := poller.Exec(ctx, `SELECT pg_advisory_lock(`+gateLock+`)`)
		require.NoError(t, err)
		tx, err := writer.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `SET LOCAL ga4_outbox.notify = 'off'`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id) VALUES ('D1')`)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		sentinel("after-D")
		require.Equal(t, "after-D", next())
		insert("E") // the setting ended with its transaction
		sentinel("after-E")
		require.Equal(t, "", next())
		require.Equal(t, "after-E", next())
		_, err = poller.Exec(ctx, `SELECT pg_advisory_unlock(`+gateLock+`)`)
		require.NoError(t, err)
	})
	t.Run("an open enqueue keeps a poller from arming", func(t *testing.T) {
		tx, err := writer.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id) VALUES ('C1')`)
		require.NoError(t, err)
		var armed bool
		require.NoError(t, poller.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+gateLock+`)`).Scan(&armed))
		require.False(t, armed, "the enqueue holds the gate until it ends")
		require.NoError(t, tx.Commit(ctx))
		require.NoError(t, poller.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+gateLock+`)`).Scan(&armed))
		require.True(t, armed)
	})
}

// TestErrorIndexMigration: version 5 cuts older last_errors over 2,000
// bytes to 500 characters, then refuses longer ones with a check naming
// the rule, and the report's error index carries the text.
func TestErrorIndexMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, m := emptyMigrator(t)
	require.NoError(t, m.Steps(3)) // 000001, 000003, 000004
	v, _, err := m.Version()
	require.NoError(t, err)
	require.Equal(t, uint(4), v)
	_, err = conn.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, last_error)
		VALUES ('long', repeat('é', 3000)), ('short', 'HTTP 503')`)
	require.NoError(t, err)

	require.NoError(t, m.Up())
	var long, short string
	require.NoError(t, conn.QueryRow(ctx, `SELECT
		(SELECT last_error FROM ga4_outbox.events WHERE transaction_id = 'long'),
		(SELECT last_error FROM ga4_outbox.events WHERE transaction_id = 'short')`).Scan(&long, &short))
	require.Equal(t, strings.Repeat("é", 500), long)
	require.Equal(t, "HTTP 503", short)

	_, err = conn.Exec(ctx, `UPDATE ga4_outbox.events SET last_error = repeat('x', 2001) WHERE transaction_id = 'short'`)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, "events_last_error_size", pgErr.ConstraintName)

	var def string
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_get_indexdef('ga4_outbox.events_last_error_idx'::regclass)`).Scan(&def))
	require.Contains(t, def, "INCLUDE (last_error) WHERE (last_error IS NOT NULL)")
}
