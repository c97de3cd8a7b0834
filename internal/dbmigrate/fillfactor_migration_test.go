package dbmigrate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFillfactorMigration: version 14 leaves half of each new page of the
// outbox free for the claim's row version, and its down migration puts the
// default back.
func TestFillfactorMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, m := emptyMigrator(t)
	options := func() []string {
		t.Helper()
		var opts []string
		require.NoError(t, conn.QueryRow(ctx,
			`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'ga4_outbox.events'::regclass`).Scan(&opts))
		return opts
	}
	require.NoError(t, m.Steps(12)) // 000001, 000003 ... 000013
	require.NotContains(t, options(), "fillfactor=50")
	require.NoError(t, m.Steps(1)) // 000014
	require.Contains(t, options(), "fillfactor=50")
	require.NoError(t, m.Steps(-1))
	require.NotContains(t, options(), "fillfactor=50")
}
