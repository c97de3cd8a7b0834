package outcomes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// BenchmarkFetch looks up 10,000 orders of one day (20 queries of 500 ids,
// half of them in GA4) against the local fake Data API and stores their
// outcomes: the sidecar's own cost of a fetch, without Google's latency.
func BenchmarkFetch(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.Pool(b)
	fake := outcomestest.New(b)
	var purchases []outcomestest.Purchase
	_, err := pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, occurred_at, source)
		SELECT 'B-' || lpad(i::text, 5, '0'), 10, 'EUR', $1, 'bench' FROM generate_series(1, 10000) i`, day1)
	require.NoError(b, err)
	for i := 1; i <= 10000; i += 2 {
		purchases = append(purchases, outcomestest.Purchase{TransactionID: fmt.Sprintf("B-%05d", i), Channel: "Email", Revenue: "10", Purchases: 1})
	}
	fake.Add("1001", purchases...)
	fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 1 << 40 })
	src, err := dataapi.New(ctx, dataapi.Config{Endpoint: fake.URL, Options: fake.ClientOptions()})
	require.NoError(b, err)
	opts := outcomes.Options{Since: day1.AddDate(0, 0, -1), Until: now, Properties: []outcomes.Property{{PropertyID: "1001"}}}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		_, err := pool.Exec(ctx, `TRUNCATE ga4_outbox.outcomes`)
		require.NoError(b, err)
		b.StartTimer()
		sum, err := outcomes.Fetch(ctx, pool, src, opts)
		require.NoError(b, err)
		require.Equal(b, 10000, sum.LookedUp)
	}
}
