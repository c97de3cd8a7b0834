package demo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

func TestGenerateIsDeterministicAndCoversEveryPath(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 14, 18, 0, 0, 0, time.UTC)
	a, wantA, err := demo.Generate(demo.Options{End: end})
	require.NoError(t, err)
	b, wantB, err := demo.Generate(demo.Options{End: end})
	require.NoError(t, err)
	require.Equal(t, a, b, "same seed and end: same orders")
	require.Equal(t, wantA, wantB)
	require.Len(t, a, 800)

	sources := map[string]bool{}
	var total int64
	for _, o := range a {
		sources[o.Conversion.Source] = true
		require.NoError(t, o.Conversion.Validate(), o.Conversion.TransactionID)
		require.False(t, o.Conversion.OccurredAt.Before(end.Add(-24*time.Hour)), "inside the report window")
		require.True(t, o.Conversion.OccurredAt.Before(end))
		total++
	}
	require.Len(t, sources, 4)
	for _, bucket := range []string{reconcile.BucketAttributable, reconcile.BucketMissingSessionID, reconcile.BucketMissingClientID,
		reconcile.BucketLate, reconcile.BucketConsentDenied, reconcile.BucketInvalid, reconcile.BucketExpired} {
		require.Positive(t, wantA[demo.Key{Currency: "EUR", Bucket: bucket}].Conversions, bucket)
	}
	require.Equal(t, total, wantA.Total("EUR").Conversions+wantA.Total("USD").Conversions)

	c, _, err := demo.Generate(demo.Options{End: end, Seed: 7})
	require.NoError(t, err)
	require.NotEqual(t, a, c, "another seed: other orders")
}

func TestCheckNamesEveryDifference(t *testing.T) {
	t.Parallel()
	want := demo.Expected{{Currency: "EUR", Bucket: reconcile.BucketLate}: {Conversions: 2, Cents: 1050}}
	rev, err := reconcile.ParseAmount("10.50")
	require.NoError(t, err)
	r := &reconcile.Report{Summary: []reconcile.CurrencySummary{{Currency: "EUR", Buckets: []reconcile.Bucket{
		{Bucket: reconcile.BucketLate, Conversions: 2, Revenue: rev}}}}}
	require.Empty(t, want.Check(r))
	r.Summary[0].Buckets = append(r.Summary[0].Buckets, reconcile.Bucket{Bucket: reconcile.BucketFailed, Conversions: 1, Revenue: rev})
	require.Equal(t, []string{"EUR failed: generated 0 conversions / 0.00, report says 1 / 10.50"}, want.Check(r))
}
