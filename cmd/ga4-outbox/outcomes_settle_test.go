package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// TestOutcomesFetchSettle: `outcomes fetch` leaves an order younger than
// outcomes.settle alone and says so; --settle 0 looks it up; a negative
// --settle is a usage error.
func TestOutcomesFetchSettle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	pool, err := dbconn.OpenPool(ctx, dbURL, 2)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, occurred_at, source)
		VALUES ('S-1', 10, 'EUR', now() - interval '2 hours', 'test')`)
	require.NoError(t, err)
	fake := outcomestest.New(t)
	environ := outcomesEnv(t, fake, dbURL)

	res := runCmd(t, environ, "outcomes", "fetch")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "not looked up yet, younger than the settle age (GA4 has not processed them): 1 order\n")
	require.Empty(t, fake.Requests(), "GA4 is not asked about a 2 h old order")

	res = runCmd(t, environ, "outcomes", "fetch", "--settle", "0")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "looked up 1 of 1 orders in 1 request (0 final, 1 provisional): not_found 1")

	res = runCmd(t, environ, "outcomes", "fetch", "--settle", "-1h")
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, `outcomes fetch: --settle "-1h": must be a duration of 0 or more, e.g. 24h`)
}
