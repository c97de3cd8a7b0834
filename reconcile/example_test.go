package reconcile_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// stored is a report in its JSON form, as the nightly run writes it
// (ga4-outbox-report-2026-03-01.json), cut down to one source.
const stored = `{
  "schema_version": 1, "generated_at": "2026-03-02T02:00:00Z",
  "since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z", "stuck_after_seconds": 3600,
  "summary": [{
    "currency": "EUR", "not_attributable": "12196.15", "not_attributable_share": 0.4181,
    "top_causes": [{"source": "payment_webhook", "bucket": "missing_session_id", "conversions": 31, "revenue": "12196.15"}],
    "conversions": 120, "revenue": "29168.00", "attributable_share": 0.5819, "revenue_at_risk": "12196.15",
    "buckets": [
      {"bucket": "attributable", "conversions": 89, "revenue": "16971.85", "reasons": []},
      {"bucket": "missing_session_id", "conversions": 31, "revenue": "12196.15",
       "reasons": [{"reason": "no_session_id", "conversions": 31, "revenue": "12196.15"}]}]
  }],
  "by_source": [{"key": "payment_webhook", "currency": "EUR", "conversions": 120, "revenue": "29168.00",
    "attributable_share": 0.5819, "buckets": [
      {"bucket": "attributable", "conversions": 89, "revenue": "16971.85", "reasons": []},
      {"bucket": "missing_session_id", "conversions": 31, "revenue": "12196.15", "reasons": []}]}],
  "delivery_health": {"delivered": 120, "lag_p50_seconds": 2, "lag_p95_seconds": 9, "lag_max_seconds": 31,
    "attempts_mean": 1, "attempts_max": 1, "pending": 0, "stuck": 0}
}`

// ExampleReport_Render renders a stored report for a terminal: the
// headline (revenue not attributable, its share, the top causes by
// source), then compact tables that fit in 100 columns. A new report
// comes from reconcile.Build(ctx, pool, opts).
func ExampleReport_Render() {
	var r reconcile.Report
	if err := json.Unmarshal([]byte(stored), &r); err != nil {
		panic(err)
	}
	share, currency, _ := r.MinShare()
	fmt.Printf("lowest attributable share: %.2f (%s)\n\n", share, currency)
	if err := r.Render(os.Stdout, reconcile.FormatTable); err != nil {
		panic(err)
	}
	// Output:
	// lowest attributable share: 0.58 (EUR)
	//
	// GA4 attribution report, 2026-03-01 00:00 to 2026-03-02 00:00 (UTC, business time)
	// generated 2026-03-02 02:00:00 UTC
	//
	// REVENUE GA4 CANNOT ATTRIBUTE TO THE SESSION THAT EARNED IT
	//   EUR 12,196.15 of 29,168.00 not attributable (41.81%)
	//     payment_webhook: 12,196.15 EUR without session_id (31 conversions)
	// Every cause counts (missing ids, late, invalid, expired, failed, pending, never enqueued); the share
	// is of revenue less consent_denied.
	//
	// 1. Summary
	// +----------+-------------+----------+--------------+--------------------+------------------+
	// | currency | conversions | revenue  | attributable | attributable share | not attributable |
	// +----------+-------------+----------+--------------+--------------------+------------------+
	// | EUR      |         120 | 29168.00 |     16971.85 |             58.19% |         12196.15 |
	// +----------+-------------+----------+--------------+--------------------+------------------+
	// attributable share = attributable revenue / (revenue - consent_denied revenue);
	// revenue is never added across currencies.
	//
	// 1. Summary, by bucket and reason (buckets without conversions left out)
	// +----------+--------------------+-------------+----------+
	// | currency | bucket / reason    | conversions | revenue  |
	// +----------+--------------------+-------------+----------+
	// | EUR      | attributable       |          89 | 16971.85 |
	// | EUR      | missing_session_id |          31 | 12196.15 |
	// |          |   no_session_id    |          31 | 12196.15 |
	// +----------+--------------------+-------------+----------+
	//
	// 2. By source (worst first)
	// +-----------------+------+-------+----------+--------+-------------+--------------------+
	// | source          | cur. | conv. | revenue  | share  | not attrib. | main cause         |
	// +-----------------+------+-------+----------+--------+-------------+--------------------+
	// | payment_webhook | EUR  |   120 | 29168.00 | 58.19% |    12196.15 | missing_session_id |
	// +-----------------+------+-------+----------+--------+-------------+--------------------+
	// share: attributable share; not attrib.: revenue not attributable; main cause: the bucket
	// that loses the most revenue.
	//
	// 3. By day (UTC)
	// (none)
	//
	// 4. Delivery health
	// +---------------------------------------+----------+
	// | measure                               | value    |
	// +---------------------------------------+----------+
	// | delivered                             | 120      |
	// | lag p50 (occurred_at to delivered_at) | 2s       |
	// | lag p95                               | 9s       |
	// | lag max                               | 31s      |
	// | attempts per delivery (mean / max)    | 1.00 / 1 |
	// | delivered after a retry               | 0        |
	// | pending (any bucket)                  | 0        |
	// | stuck (pending older than 1h)         | 0        |
	// | oldest pending age                    | 0s       |
	// +---------------------------------------+----------+
	//
	// 4. Delivery health, top last errors
	// (none)
	//
	// 5. Examples
	// (none)
	//
	// Credited in GA4
	// No GA4 outcomes imported for this window: run `ga4-outbox outcomes fetch` (docs/OUTCOMES.md).
}
