package dbmigrate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIDsRecoveryMigration: version 10 renames the stored reasons of the
// rows its rules rename (a UUID client id, a session id recovered from a
// whole cookie), keeps the stored bucket of rows the old rules called
// missing (they were not sent with that id), classifies new rows by the new
// rules, and its down migration puts the old reasons back.
func TestIDsRecoveryMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, m := emptyMigrator(t)
	require.NoError(t, m.Steps(8)) // 000001, 000003 ... 000009
	v, _, err := m.Version()
	require.NoError(t, err)
	require.Equal(t, uint(9), v)

	insert := func(tx, client, session, status, reason string) {
		t.Helper()
		_, err := conn.Exec(ctx, `INSERT INTO ga4_outbox.events
			(transaction_id, client_id, session_id, status, reason, session_event_at, occurred_at, delivered_at)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), to_timestamp(1772359260), to_timestamp(1772359320),
			        CASE WHEN $4 = 'delivered' THEN to_timestamp(1772359380) END)`, tx, client, session, status, reason)
		require.NoError(t, err)
	}
	buckets := func() map[string]string {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT transaction_id, bucket_reason FROM ga4_outbox.events`)
		require.NoError(t, err)
		out := map[string]string{}
		for rows.Next() {
			var tx, b string
			require.NoError(t, rows.Scan(&tx, &b))
			out[tx] = b
		}
		require.NoError(t, rows.Err())
		return out
	}
	const (
		sid      = "1772359200"
		gs2      = "GS2.1.s1772359200$o3$g1$t1772359300$j0$l0$h0"
		fragment = "s1772359200$o3$g1$t1772359300$j0$l0$h0"
		doubled  = "GA1.1.GA1.2.202830711.1689950339"
		uuid     = "35009a79-1a05-49d7-b876-2b884d0f825b"
	)
	insert("uuid", uuid, sid, "skipped", "invalid")
	insert("cookie", "1.2", gs2, "delivered", "")
	insert("fragment", "1.2", fragment, "delivered", "")
	insert("doubled", doubled, sid, "skipped", "invalid")
	v9 := map[string]string{
		"uuid":     "missing_client_id:invalid_client_id",
		"cookie":   "attributable:",
		"fragment": "missing_session_id:invalid_session_id",
		"doubled":  "missing_client_id:invalid_client_id",
	}
	require.Equal(t, v9, buckets())

	require.NoError(t, m.Steps(1)) // 000010
	insert("new fragment", "1.2", " s1772359200 $ o3", "delivered", "")
	insert("new doubled", doubled, sid, "delivered", "")
	insert("new amp", "amp-qRLck9w4Ncp0Um97qQ_1Wg", sid, "skipped", "invalid")
	require.Equal(t, map[string]string{
		"uuid":         "missing_client_id:non_ga_client_id",
		"cookie":       "attributable:recovered_session_id",
		"fragment":     "missing_session_id:invalid_session_id", // sent without a session id
		"doubled":      "missing_client_id:invalid_client_id",   // skipped: requeue sends it now
		"new fragment": "attributable:recovered_session_id",
		"new doubled":  "attributable:",
		"new amp":      "missing_client_id:non_ga_client_id",
	}, buckets())

	require.NoError(t, m.Steps(-1))
	_, err = conn.Exec(ctx, `DELETE FROM ga4_outbox.events WHERE transaction_id LIKE 'new %'`)
	require.NoError(t, err)
	require.Equal(t, v9, buckets())
}
