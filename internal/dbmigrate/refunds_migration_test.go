package dbmigrate_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// insertV11 is the plain INSERT of version 11's contract (its conflict
// target is the version 11 index).
const insertV11 = `INSERT INTO ga4_outbox.events (event_name, transaction_id, value, currency, client_id, consent_analytics_storage)
VALUES ($1, $2, $3, 'EUR', '1.2', 'granted')
ON CONFLICT (event_name, transaction_id) WHERE transaction_id <> '' DO NOTHING`

// insertV12 is the plain INSERT of version 12's contract: no conflict
// target, so it is right before and after the migration.
const insertV12 = `INSERT INTO ga4_outbox.events (event_name, transaction_id, refund_id, value, currency)
VALUES ($1, $2, $3, $4, 'EUR')
ON CONFLICT DO NOTHING`

// TestRefundsMigration: version 12 on a database holding version 11 rows
// keeps every row, builds the new unique index (valid) and drops the old
// one; several refunds of one order then enqueue once each. Its down
// migration refuses while an order has several refunds (version 11 cannot
// hold them) and leaves the schema as it was; without them it restores
// version 11's index and its conflict target.
func TestRefundsMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, m := emptyMigrator(t)
	var err error
	require.NoError(t, m.Steps(10)) // 000001, 000003 ... 000011
	requireVersion(t, m, 11)

	exec := func(sql string, args ...any) int64 {
		t.Helper()
		tag, err := conn.Exec(ctx, sql, args...)
		require.NoError(t, err)
		return tag.RowsAffected()
	}
	exec(insertV11, "purchase", "P-1", "40.00")
	exec(insertV11, "refund", "P-1", "40.00")
	exec(insertV11, "purchase", "P-2", "90.00")
	exec(insertV11, "sign_up", "", nil)
	before := snapshot(t, conn)

	require.NoError(t, m.Steps(1)) // 000012
	requireVersion(t, m, 12)
	require.Equal(t, before, snapshot(t, conn), "every row kept as it was")
	require.Equal(t, map[string]bool{"events_dedup_key_idx": true}, dedupIndexes(t, conn), "new index valid, old one gone")
	var validated bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT convalidated FROM pg_constraint WHERE conname = 'events_refund_id_check'`).Scan(&validated))
	require.True(t, validated)

	require.EqualValues(t, 1, exec(insertV12, "refund", "P-2", "re_1", "30.00"))
	require.EqualValues(t, 1, exec(insertV12, "refund", "P-2", "re_2", "20.00"), "a second partial refund is a row of its own")
	require.EqualValues(t, 0, exec(insertV12, "refund", "P-2", "re_1", "30.00"), "a retried webhook enqueues once")
	require.EqualValues(t, 0, exec(insertV12, "refund", "P-1", nil, "40.00"), "an order's refund without an id stays one")
	require.EqualValues(t, 0, exec(insertV12, "purchase", "P-1", nil, "40.00"), "a purchase stays one per transaction id")
	_, err = conn.Exec(ctx, insertV11, "purchase", "P-3", "1.00")
	require.ErrorContains(t, err, "no unique or exclusion constraint matching the ON CONFLICT", "the old target is gone (docs/REFUNDS.md, Upgrading)")
	_, err = conn.Exec(ctx, insertV12, "purchase", "P-3", "re_x", "1.00")
	require.ErrorContains(t, err, "events_refund_id_check", "only refunds carry a refund id")

	t.Run("DownRefusedWhileAnOrderHasSeveralRefunds", func(t *testing.T) {
		err := m.Steps(-1)
		require.ErrorContains(t, err, "order P-2 has several refund rows")
		require.NoError(t, m.Force(12)) // nothing ran: back to a clean 12
		require.Equal(t, map[string]bool{"events_dedup_key_idx": true}, dedupIndexes(t, conn))
	})

	exec(`DELETE FROM ga4_outbox.events WHERE refund_id = 're_2'`)
	require.NoError(t, m.Steps(-1))
	requireVersion(t, m, 11)
	require.Equal(t, map[string]bool{"events_dedup_idx": true}, dedupIndexes(t, conn))
	var hasColumn bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'ga4_outbox' AND table_name = 'events' AND column_name = 'refund_id')`).Scan(&hasColumn))
	require.False(t, hasColumn)
	require.EqualValues(t, 0, exec(insertV11, "purchase", "P-2", "90.00"), "version 11's conflict target works again")
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.events`).Scan(&n))
	require.Equal(t, len(before)+1, n, "the refund re_1 is kept")

	require.NoError(t, m.Steps(1), "and up again") // 000012
	requireVersion(t, m, 12)
}

func requireVersion(t *testing.T, m *dbmigrate.Migrator, want uint) {
	t.Helper()
	v, dirty, err := m.Version()
	require.NoError(t, err)
	require.False(t, dirty)
	require.Equal(t, want, v)
}

// snapshot reads every row's identity and money, by id.
func snapshot(t *testing.T, conn *pgx.Conn) map[int64]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT id, concat_ws('|', event_name, transaction_id, value, currency, status, client_id)
		FROM ga4_outbox.events`)
	require.NoError(t, err)
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var s string
		require.NoError(t, rows.Scan(&id, &s))
		out[id] = s
	}
	require.NoError(t, rows.Err())
	return out
}

// dedupIndexes lists the unique indexes of the outbox (but its primary
// key) and whether each is valid.
func dedupIndexes(t *testing.T, conn *pgx.Conn) map[string]bool {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT c.relname, i.indisvalid FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'ga4_outbox.events'::regclass AND i.indisunique AND NOT i.indisprimary`)
	require.NoError(t, err)
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var valid bool
		require.NoError(t, rows.Scan(&name, &valid))
		out[name] = valid
	}
	require.NoError(t, rows.Err())
	return out
}

// Every step of migration 12 can run again: after `force 11` on a
// database where it already ran (or stopped half way), `up` finishes
// without error and leaves the same schema.
func TestRefundsMigrationStepsRepeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, m := emptyMigrator(t)
	var err error
	require.NoError(t, m.Steps(11)) // 000001, 000003 ... 000012
	_, err = conn.Exec(ctx, insertV12, "refund", "P-1", "re_1", "1.00")
	require.NoError(t, err)

	require.NoError(t, m.Force(11))
	require.NoError(t, m.Steps(1), "all steps again")
	requireVersion(t, m, 12)
	require.Equal(t, map[string]bool{"events_dedup_key_idx": true}, dedupIndexes(t, conn))
	var triggers int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_trigger WHERE tgname = 'events_refund_defaults'`).Scan(&triggers))
	require.Equal(t, 1, triggers)
}

// The catalogue step gives up after lock_timeout (5 s) rather than queue
// the application's writes behind a transaction holding a lock on the
// outbox; nothing of it stays, and once the lock is gone `force 11` and
// `up` apply it.
func TestRefundsMigrationGivesUpOnALongLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyURL(t)
	m, err := dbmigrate.New(ctx, url)
	require.NoError(t, err)
	defer m.Close()
	require.NoError(t, m.Steps(10))

	holder := connect(t, url)
	tx, err := holder.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT count(*) FROM ga4_outbox.events`) // ACCESS SHARE until the end of tx
	require.NoError(t, err)

	err = m.Steps(1)
	require.ErrorContains(t, err, "lock timeout")
	require.ErrorContains(t, err, "step 1 of 7")
	var hasColumn bool
	require.NoError(t, holder.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'ga4_outbox' AND table_name = 'events' AND column_name = 'refund_id')`).Scan(&hasColumn))
	require.False(t, hasColumn, "the step rolled back")

	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, m.Force(11))
	require.NoError(t, m.Steps(1)) // 000012
	requireVersion(t, m, 12)
}
