package demo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// TestExpectedOutcomesFollowTheRules: sent in time with a session id, the
// seeded channel; without a session id, unassigned; late, direct; never
// sent or lost, not found.
func TestExpectedOutcomesFollowTheRules(t *testing.T) {
	t.Parallel()
	orders, _, err := demo.Generate(demo.Options{End: time.Date(2026, 3, 14, 18, 0, 0, 0, time.UTC), Orders: 400})
	require.NoError(t, err)
	sessions := demo.Sessions(orders, 0)
	lostID := orders[0].Conversion.TransactionID
	want := demo.ExpectedOutcomes(orders, sessions, func(tid string) bool { return tid == lostID })
	require.Len(t, want, len(orders))
	require.Equal(t, demo.GA4Outcome{Outcome: reconcile.OutcomeNotFound}, want[lostID])
	for _, o := range orders[1:] {
		got := want[o.Conversion.TransactionID]
		switch group := sessions[o.Conversion.SessionID].Group; o.Bucket {
		case reconcile.BucketAttributable:
			require.Equal(t, group, got.Channel)
			require.Equal(t, map[bool]string{true: reconcile.OutcomeDirect, false: reconcile.OutcomeCredited}[group == "Direct"], got.Outcome)
		case reconcile.BucketMissingSessionID:
			require.Equal(t, demo.GA4Outcome{Outcome: reconcile.OutcomeUnassigned, Channel: "Unassigned"}, got)
		case reconcile.BucketLate:
			require.Equal(t, demo.GA4Outcome{Outcome: reconcile.OutcomeDirect, Channel: "Direct"}, got)
		default:
			require.Equal(t, demo.GA4Outcome{Outcome: reconcile.OutcomeNotFound}, got, o.Bucket)
		}
	}
	n := demo.CountOutcomes(want)
	require.Positive(t, n[reconcile.OutcomeCredited])
	require.Positive(t, n[reconcile.OutcomeUnassigned])
}

// TestCheckOutcomesNamesEachDifference: a different outcome, an order
// never looked up and an id not generated each give a line, in id order.
func TestCheckOutcomesNamesEachDifference(t *testing.T) {
	t.Parallel()
	credited := demo.GA4Outcome{Outcome: reconcile.OutcomeCredited, Channel: "Email"}
	notFound := demo.GA4Outcome{Outcome: reconcile.OutcomeNotFound}
	want := map[string]demo.GA4Outcome{"D-1": credited, "D-2": notFound, "D-3": credited}
	require.Empty(t, demo.CheckOutcomes(want, want))
	got := map[string]demo.GA4Outcome{"D-1": {Outcome: reconcile.OutcomeDirect, Channel: "Direct"}, "D-2": notFound, "X-9": notFound}
	require.Equal(t, []string{
		"D-1: expected credited (Email), GA4 says direct (Direct)",
		"D-3: expected credited (Email), never looked up",
		"X-9: not a generated order, GA4 says not_found",
	}, demo.CheckOutcomes(want, got))
}
