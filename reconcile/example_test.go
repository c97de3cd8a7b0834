package reconcile_test

import (
	"fmt"
	"os"
	"time"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// ExampleReport_Render prints a report's summary as Markdown. A real report
// comes from reconcile.Build(ctx, pool, opts); here one is written by hand.
func ExampleReport_Render() {
	amount := func(s string) reconcile.Amount {
		a, err := reconcile.ParseAmount(s)
		if err != nil {
			panic(err)
		}
		return a
	}
	total, attributable, risk := amount("250.00"), amount("190.00"), amount("60.00")
	r := &reconcile.Report{
		Since:       time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Until:       time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		GeneratedAt: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), StuckAfterSeconds: 3600,
		Summary: []reconcile.CurrencySummary{{
			Currency: "EUR", Conversions: 5, Revenue: total,
			AttributableShare: reconcile.Share(attributable, total), RevenueAtRisk: risk,
			Buckets: []reconcile.Bucket{
				{Bucket: reconcile.BucketAttributable, Conversions: 4, Revenue: attributable},
				{Bucket: reconcile.BucketMissingSessionID, Conversions: 1, Revenue: risk},
			},
		}},
	}
	share, currency, _ := r.MinShare()
	fmt.Printf("lowest attributable share: %.2f (%s)\n", share, currency)
	if err := r.Render(os.Stdout, reconcile.FormatMarkdown); err != nil {
		panic(err)
	}
	// Output:
	// lowest attributable share: 0.76 (EUR)
	// # GA4 attribution report, 2026-03-01 00:00 to 2026-03-02 00:00 (UTC, business time)
	//
	// Generated 2026-03-02 02:00:00 UTC.
	//
	// ## 1. Summary
	//
	// | currency | conversions | revenue | attributable | attributable share | at risk (Unassigned) |
	// | --- | --- | --- | --- | --- | --- |
	// | EUR | 5 | 250.00 | 190.00 | 76.00% | 60.00 |
	//
	// attributable share = attributable revenue / (revenue - consent_denied revenue); revenue is never added across currencies.
	//
	// ## 1. Summary, by bucket
	//
	// | currency | bucket | conversions | revenue | reasons |
	// | --- | --- | --- | --- | --- |
	// | EUR | attributable | 4 | 190.00 |  |
	// | EUR | missing_session_id | 1 | 60.00 |  |
	//
	// ## 2. By source (worst first)
	//
	// (none)
	//
	// columns after the share count conversions; not delivered = invalid + expired + failed + pending.
	//
	// ## 3. By day (UTC)
	//
	// (none)
	//
	// ## 4. Delivery health
	//
	// | measure | value |
	// | --- | --- |
	// | delivered | 0 |
	// | lag p50 (occurred_at to delivered_at) | 0s |
	// | lag p95 | 0s |
	// | lag max | 0s |
	// | attempts per delivery (mean / max) | 0.00 / 0 |
	// | delivered after a retry | 0 |
	// | pending | 0 |
	// | stuck (pending older than 1h) | 0 |
	// | oldest pending age | 0s |
	//
	// ## 4. Delivery health, top last errors
	//
	// (none)
	//
	// ## 5. Examples
	//
	// (none)
}
