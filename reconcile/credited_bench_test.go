package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// creditedBenchRows is the purchases of the day BenchmarkCreditedDay reports on.
const creditedBenchRows = 100_000

// BenchmarkCreditedDay builds the report of one day of 100,000 purchases
// (90 % delivered), without outcomes (the probe only) and with an outcome
// for every delivered one (the join): what the Credited in GA4 section
// adds to a nightly report. Run: go test -run '^$' -bench CreditedDay ./reconcile
func BenchmarkCreditedDay(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.Pool(b)
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `
INSERT INTO ga4_outbox.events (transaction_id, value, currency, source, client_id, session_id, occurred_at,
  session_event_at, status, reason, delivered_at, attempts)
SELECT 'T' || g, round((g % 10000) / 100.0 + 1, 2), (ARRAY['EUR', 'USD'])[1 + g % 2],
       (ARRAY['checkout', 'webhook', 'app'])[1 + g % 3], '1000.' || (1700000000 + g % 1000),
       CASE WHEN g % 10 = 7 THEN NULL ELSE (extract(epoch FROM occ)::bigint - 300)::text END, occ, occ,
       CASE WHEN g % 10 = 9 THEN 'skipped' ELSE 'delivered' END, CASE WHEN g % 10 = 9 THEN 'invalid' END,
       CASE WHEN g % 10 = 9 THEN NULL ELSE occ + interval '1 minute' END, 1
FROM generate_series(1, $1::bigint) g, LATERAL (SELECT $2::timestamptz + (g % 86000) * interval '1 second' AS occ) o`,
		creditedBenchRows, day)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) ga4_outbox.events`); err != nil {
		b.Fatal(err)
	}
	opts := reconcile.Options{Since: day, Until: day.Add(24 * time.Hour), Now: func() time.Time { return day.Add(26 * time.Hour) }}
	b.Run("without outcomes", func(b *testing.B) {
		for b.Loop() {
			if _, err := reconcile.Build(ctx, pool, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	_, err = pool.Exec(ctx, `
INSERT INTO ga4_outbox.outcomes (property_id, transaction_id, outcome, final, channel, ga_revenue, ga_currency, ordered_at)
SELECT '123', transaction_id, (ARRAY['credited', 'direct', 'unassigned', 'not_found'])[1 + id % 4], id % 2 = 0,
       'Organic Search', value, currency, occurred_at
FROM ga4_outbox.events WHERE status = 'delivered'`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) ga4_outbox.outcomes`); err != nil {
		b.Fatal(err)
	}
	b.Run("with outcomes", func(b *testing.B) {
		var r *reconcile.Report
		for b.Loop() {
			if r, err = reconcile.Build(ctx, pool, opts); err != nil {
				b.Fatal(err)
			}
		}
		if !r.Credited.Imported || r.Credited.Summary[0].Checked.Conversions == 0 {
			b.Fatal("no outcomes in the report")
		}
	})
}
