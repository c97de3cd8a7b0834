package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// TestDemoOutcomesFollowTheCreditingRules runs the demo's loop and counts
// ga4_outbox.outcomes per outcome and channel against an expectation the
// test derives itself from the generator's buckets, the seeded sessions
// and the emulator's lost share: it fails when the fetch stores nothing
// or the wrong orders, or when the emulator credits by other rules. Then
// it spoils one stored outcome and requires the demo's check to fail
// naming that order.
func TestDemoOutcomesFollowTheCreditingRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	opts := demo.Options{Seed: 4242, Orders: 250, End: time.Now()}
	var out bytes.Buffer
	require.NoError(t, demoLoop(ctx, &out, dbURL, opts), out.String())

	orders, _, err := demo.Generate(opts)
	require.NoError(t, err)
	sessions := demo.Sessions(orders, opts.Seed)
	emu, err := ga4test.NewServer(&ga4test.Options{Faults: ga4test.Faults{ReportLoseShare: demoLoseShare}})
	require.NoError(t, err)
	want, lost := map[[2]string]int{}, 0
	for _, o := range orders {
		key := [2]string{reconcile.OutcomeNotFound, ""}
		switch group := sessions[o.Conversion.SessionID].Group; {
		case emu.ReportLoses(o.Conversion.TransactionID):
			lost++
		case o.Bucket == reconcile.BucketAttributable && group == "Direct":
			key = [2]string{reconcile.OutcomeDirect, "Direct"}
		case o.Bucket == reconcile.BucketAttributable:
			key = [2]string{reconcile.OutcomeCredited, group}
		case o.Bucket == reconcile.BucketMissingSessionID:
			key = [2]string{reconcile.OutcomeUnassigned, "Unassigned"}
		case o.Bucket == reconcile.BucketLate:
			key = [2]string{reconcile.OutcomeDirect, "Direct"}
		}
		want[key]++
	}
	require.Positive(t, lost, "the demo's GA4 loses a share")

	pool, err := dbconn.OpenPool(ctx, dbURL, 2)
	require.NoError(t, err)
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT outcome, coalesce(channel, ''), count(*) FROM ga4_outbox.outcomes
		WHERE property_id = $1 GROUP BY 1, 2`, demoPropertyID)
	require.NoError(t, err)
	got := map[[2]string]int{}
	var key [2]string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&key[0], &key[1], &n}, func() error { got[key] = n; return nil })
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Contains(t, out.String(), "Check: GA4's outcomes match the emulator's rules for the 250 orders")

	// One outcome spoilt: the check names it and fails the demo.
	var tid string
	require.NoError(t, pool.QueryRow(ctx, `UPDATE ga4_outbox.outcomes SET outcome = 'not_set', channel = '(not set)'
		WHERE transaction_id = (SELECT min(transaction_id) FROM ga4_outbox.outcomes WHERE outcome = 'credited')
		RETURNING transaction_id`).Scan(&tid))
	out.Reset()
	err = demoOutcomeCheck(ctx, &out, pool, demo.ExpectedOutcomes(orders, sessions, emu.ReportLoses))
	var exit exitError
	require.True(t, errors.As(err, &exit), "%v", err)
	require.Equal(t, 1, exit.code)
	require.ErrorContains(t, err, "demo: GA4's outcomes do not match the emulator's rules for 1 order, first at "+tid)
	require.Contains(t, out.String(), "differ from the emulator's rules for 1 of the 250 orders")
	require.Regexp(t, tid+`: expected credited \(.+\), GA4 says not_set \(\(not set\)\)`, out.String())
}
