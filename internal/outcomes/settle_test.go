package outcomes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
)

// TestFetchSkipsYoungOrders: an order younger than Settle (24 h by
// default) is not looked up, so it is not stored as not_found before GA4
// has processed it; once old enough it is, and a negative Settle looks up
// orders of any age.
func TestFetchSkipsYoungOrders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "OLD", "", now.Add(-30*time.Hour), "EUR")
	f.purchase(t, "YOUNG", "", now.Add(-3*time.Hour), "EUR")
	f.fake.Add("1001", outcomestest.Purchase{TransactionID: "OLD", Channel: "Email", Revenue: "10", Purchases: 1})

	sum := f.fetch(t)
	require.Equal(t, 1, sum.Due)
	require.Equal(t, 1, sum.Young)
	require.Equal(t, 1, sum.LookedUp)
	reqs := f.fake.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, []string{"OLD"}, reqs[0].Report.DimensionFilter.Filter.InListFilter.Values, "the young order is not asked about")
	_, stored := f.outcome(t, "1001", "YOUNG")
	require.False(t, stored, "no provisional not_found for an order GA4 has not processed")

	later := now.Add(22 * time.Hour) // YOUNG is 25 h old now
	f.opts.Now = func() time.Time { return later }
	f.opts.Until = later
	sum = f.fetch(t)
	require.Zero(t, sum.Young)
	y, stored := f.outcome(t, "1001", "YOUNG")
	require.True(t, stored)
	require.Equal(t, "not_found", y.Outcome)

	f.purchase(t, "NEW", "", later.Add(-time.Hour), "EUR")
	f.opts.Settle = -1
	sum = f.fetch(t)
	require.Zero(t, sum.Young)
	_, stored = f.outcome(t, "1001", "NEW")
	require.True(t, stored, "a negative Settle looks up orders of any age")
}
