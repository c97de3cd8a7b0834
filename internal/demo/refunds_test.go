package demo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

func TestGenerateRefunds(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 14, 18, 0, 0, 0, time.UTC)
	opts := demo.Options{End: end}
	orders, _, err := demo.Generate(opts)
	require.NoError(t, err)
	refunds, want := demo.GenerateRefunds(orders, opts)
	again, wantAgain := demo.GenerateRefunds(orders, opts)
	require.Equal(t, refunds, again, "deterministic")
	require.Equal(t, want, wantAgain)

	bucket := map[string]string{}
	for _, o := range orders {
		bucket[o.Conversion.TransactionID] = o.Bucket
	}
	perOrder := map[string]int{}
	var whole, expired int
	for _, r := range refunds {
		require.NoError(t, r.Refund.Validate(), r.Refund.RefundID)
		require.True(t, r.Refund.OccurredAt.Before(end), "inside the report window")
		perOrder[r.Refund.TransactionID]++
		if r.Refund.Value == "" {
			whole++
		}
		if bucket[r.Refund.TransactionID] == reconcile.BucketExpired {
			expired++
		}
	}
	var partial int
	for _, n := range perOrder {
		if n == 2 {
			partial++
		}
	}
	require.Positive(t, whole, "whole-order refunds")
	require.Positive(t, partial, "orders refunded twice in part")
	require.Equal(t, 1, expired, "one refund of an order never sent")
	require.Equal(t, map[string]int64{reconcile.RefundPurchaseSkipped: 1}, want.Flags)
	require.EqualValues(t, len(refunds), want.Total())
}

func TestRefundsCheckNamesEveryDifference(t *testing.T) {
	t.Parallel()
	want := demo.RefundsExpected{PerCurrency: map[string]demo.Tally{"EUR": {Conversions: 2, Cents: 1050}},
		Flags: map[string]int64{reconcile.RefundPurchaseSkipped: 1}}
	amount, err := reconcile.ParseAmount("10.50")
	require.NoError(t, err)
	r := &reconcile.Report{Refunds: reconcile.Refunds{
		Revenue: []reconcile.NetRevenue{{Currency: "EUR", Refunds: 2, Refunded: amount, SentRefunds: 2, Sent: amount}},
		Flags:   []reconcile.RefundFlag{{Kind: reconcile.RefundPurchaseSkipped, Currency: "EUR", Refunds: 1}}}}
	require.Empty(t, want.Check(r))
	r.Refunds.Revenue[0].SentRefunds = 1
	r.Refunds.Flags = append(r.Refunds.Flags, reconcile.RefundFlag{Kind: reconcile.RefundNotSent, Currency: "EUR", Refunds: 1})
	require.Equal(t, []string{
		"EUR refunds: generated 2 / 10.50, all to be sent; report says 2 / 10.50, 1 / 10.50 sent",
		"refunds flagged refund_not_sent: generated 0, report says 1",
	}, want.Check(r))
}
