package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// fixtureOutcome is one row of ga4_outbox.outcomes.
type fixtureOutcome struct {
	property, tx, mid, outcome, detail, channel, sourceMedium, gaRevenue, gaCurrency string
	final                                                                            bool
}

// fixtureOutcomes are GA4's answers for the fixture's purchases (the
// numbers the tests expect are worked out from these and fixtureRows):
//
//	EUR sent: A1 100, A2 50.50, L1 20, L2 30, M1 40, B1 11 (not checked)
//	USD sent: M2 25, C2 15, A3 200, A4 99.99, L3 80
//
// M1 was sent without a session id and GA4 credited it anyway; M2's
// revenue comes back in EUR (not compared); A4, attributable as sent,
// lands in Direct; C2 is indeterminate; L3 counts twice. C1, never sent,
// is not found. X1 lies outside the window. A1 has a second outcome in
// another property, checked later, which the join must not take.
func fixtureOutcomes() []fixtureOutcome {
	organic, email, paid, referral := "Organic Search", "Email", "Paid Search", "Referral"
	return []fixtureOutcome{
		{tx: "A1", outcome: "credited", channel: organic, sourceMedium: "google / organic", gaRevenue: "100.00", gaCurrency: "EUR", final: true},
		{property: "999", mid: "G-OTHER", tx: "A1", outcome: "not_found"},
		{tx: "A2", outcome: "credited", channel: email, sourceMedium: "newsletter / email", gaRevenue: "50.00", gaCurrency: "EUR", final: true},
		{tx: "L1", outcome: "direct", channel: "Direct", gaRevenue: "20.00", gaCurrency: "EUR"},
		{tx: "L2", outcome: "not_found", final: true},
		{tx: "M1", outcome: "credited", channel: referral, sourceMedium: "partner.example / referral", gaRevenue: "40.00", gaCurrency: "EUR", final: true},
		{tx: "M2", outcome: "unassigned", channel: "Unassigned", gaRevenue: "23.10", gaCurrency: "EUR", final: true},
		{tx: "C2", outcome: "indeterminate", detail: "rows folded into (other)"},
		{tx: "A3", outcome: "credited", channel: paid, sourceMedium: "google / cpc", gaRevenue: "200.00", gaCurrency: "usd"},
		{tx: "A4", outcome: "direct", channel: "Direct", gaRevenue: "99.99", gaCurrency: "USD"},
		{tx: "L3", outcome: "duplicate", channel: "Direct", gaRevenue: "160.00", gaCurrency: "USD"},
		{tx: "C1", outcome: "not_found", final: true},
		{tx: "X1", outcome: "credited", channel: organic, gaRevenue: "1000.00", gaCurrency: "EUR", final: true},
	}
}

// insertOutcomes writes outcome rows as the outcome import would, each
// ordered when its purchase occurred (or at since when it has none).
func insertOutcomes(t testing.TB, e execer, rows []fixtureOutcome) {
	t.Helper()
	for i, o := range rows {
		_, err := e.Exec(context.Background(), `
INSERT INTO ga4_outbox.outcomes (property_id, transaction_id, measurement_id, outcome, detail, final, channel,
  source_medium, ga_revenue, ga_currency, ordered_at, checked_at)
VALUES (coalesce(nullif($1, ''), '123'), $2, nullif($3, ''), $4, nullif($5, ''), $6, nullif($7, ''), nullif($8, ''),
  nullif($9, '')::numeric, nullif($10, ''),
  coalesce((SELECT occurred_at FROM ga4_outbox.events WHERE transaction_id = $2 LIMIT 1), $11),
  $11::timestamptz + make_interval(secs => $12))`,
			o.property, o.tx, o.mid, o.outcome, o.detail, o.final, o.channel, o.sourceMedium, o.gaRevenue, o.gaCurrency,
			fixedAt, i)
		require.NoError(t, err, "insert outcome %s", o.tx)
	}
}

func creditedDigest(c reconcile.Credited) []string {
	out := []string{fmt.Sprintf("imported=%t", c.Imported)}
	for _, s := range c.Summary {
		out = append(out, fmt.Sprintf("%s sent=%d/%s checked=%d/%s not_checked=%d found=%d/%s credited=%d/%s not_found=%d indeterminate=%d"+
			" capture=%s rev_capture=%s credited_share=%s provisional=%d final=%d compared=%d/%s ga=%s other=%d",
			s.Currency, s.Sent.Conversions, s.Sent.Revenue, s.Checked.Conversions, s.Checked.Revenue, s.NotChecked.Conversions,
			s.Found.Conversions, s.Found.Revenue, s.Credited.Conversions, s.Credited.Revenue, s.NotFound.Conversions,
			s.Indeterminate.Conversions, share(s.CaptureRate), share(s.RevenueCaptureRate), share(s.CreditedShare),
			s.Provisional, s.Final, s.Compared.Conversions, s.Compared.Revenue, s.GARevenue, s.OtherCurrency.Conversions))
	}
	for _, l := range c.ByLabel {
		out = append(out, fmt.Sprintf("label %s %s %s %d %s", l.Currency, l.Label, l.Outcome, l.Conversions, l.Revenue))
	}
	for _, s := range c.BySource {
		out = append(out, fmt.Sprintf("source %s %s checked=%d found=%d credited=%s capture=%s share=%s", s.Source, s.Currency,
			s.Checked.Conversions, s.Found.Conversions, s.Credited.Revenue, share(s.CaptureRate), share(s.CreditedShare)))
	}
	for _, ch := range c.Channels {
		out = append(out, fmt.Sprintf("channel %s %s %d %s", ch.Currency, ch.Channel, ch.Conversions, ch.Revenue))
	}
	return out
}

func TestCredited(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	r := build(t, tx, false)
	got := creditedDigest(r.Credited)
	require.Equal(t, []string{
		"imported=true",
		"EUR sent=6/251.50 checked=5/240.50 not_checked=1 found=4/210.50 credited=3/190.50 not_found=1 indeterminate=0" +
			" capture=0.8 rev_capture=0.8753 credited_share=0.7921 provisional=1 final=4 compared=4/210.50 ga=210.00 other=0",
		"USD sent=5/419.99 checked=5/419.99 not_checked=0 found=4/404.99 credited=1/200.00 not_found=0 indeterminate=1" +
			" capture=1 rev_capture=1 credited_share=0.4938 provisional=4 final=1 compared=3/379.99 ga=459.99 other=1",
	}, got[:3])
	for _, want := range []string{
		"label EUR attributable credited 2 150.50",
		"label EUR missing_session_id credited 1 40.00",
		"label EUR missing_client_id not_found 1 10.00",
		"label EUR late direct 1 20.00",
		"label EUR late not_found 1 30.00",
		"label EUR late not_checked 1 11.00",
		"label EUR consent_denied not_checked 1 60.00",
		"label USD attributable credited 1 200.00",
		"label USD attributable direct 1 99.99",
		"label USD missing_session_id unassigned 1 25.00",
		"label USD missing_client_id indeterminate 1 15.00",
		"label USD late duplicate 1 80.00",
		"source checkout EUR checked=2 found=1 credited=100.00 capture=0.5 share=0.7692",
		"source webhook EUR checked=3 found=3 credited=90.50 capture=1 share=0.819",
		"source backfill USD checked=2 found=1 credited=0.00 capture=1 share=0",
		"source checkout USD checked=2 found=2 credited=200.00 capture=1 share=0.6667",
		"channel EUR Organic Search 1 100.00",
		"channel EUR Email 1 50.50",
		"channel EUR Referral 1 40.00",
		"channel EUR Direct 1 20.00",
		"channel USD Paid Search 1 200.00",
		"channel USD Direct 2 179.99",
		"channel USD Unassigned 1 25.00",
	} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, strings.Join(got, "\n"), "1000", "X1 is outside the window")
}

// TestCreditedWithoutOutcomes: a window without imported outcomes says so
// in one line in every format, with how to import them, and prints no
// empty tables.
func TestCreditedWithoutOutcomes(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	insertFixture(t, tx, fixtureRows())
	insertOutcomes(t, tx, []fixtureOutcome{{tx: "X1", outcome: "credited", channel: "Email", final: true}}) // outside the window
	r := build(t, tx, false)
	require.False(t, r.Credited.Imported)
	require.Empty(t, r.Credited.Summary)
	for _, f := range reconcile.Formats {
		out := render(t, r, f)
		if f == reconcile.FormatJSON {
			require.Contains(t, out, `"imported": false`)
			continue
		}
		require.Equal(t, 1, strings.Count(out, "No GA4 outcomes imported for this window"), f)
		require.Contains(t, out, "ga4-outbox outcomes fetch", f)
		require.Contains(t, out, "docs/OUTCOMES.md", f)
		require.NotContains(t, out, "Credited in GA4, per currency", f)
		require.NotContains(t, out, "credited by GA4", f, "no headline figure without outcomes")
	}
}

// TestCreditedProvisionalToFinal: an outcome fetched again once final
// moves from the provisional to the final count, with its new answer.
func TestCreditedProvisionalToFinal(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	usd := func() reconcile.CreditedSummary { return build(t, tx, false).Credited.Summary[1] }
	before := usd()
	require.Equal(t, [2]int64{4, 1}, [2]int64{before.Provisional, before.Final})
	_, err := tx.Exec(context.Background(), `UPDATE ga4_outbox.outcomes SET final = true, outcome = 'credited',
		channel = 'Organic Search', checked_at = checked_at + interval '3 days' WHERE transaction_id = 'A4'`)
	require.NoError(t, err)
	after := usd()
	require.Equal(t, [2]int64{3, 2}, [2]int64{after.Provisional, after.Final})
	require.Equal(t, "0.7407", share4(after.CreditedShare), "(200.00 + 99.99) / 404.99")
}

func share4(f *float64) string { return fmt.Sprintf("%.4f", *f) }

// TestCreditedHeadlineAndFormats: every format carries the headline figure
// beside the attributable share and the section's tables.
func TestCreditedHeadlineAndFormats(t *testing.T) {
	t.Parallel()
	r := build(t, setup(t), true)
	for _, f := range reconcile.Formats {
		out := render(t, r, f)
		if f == reconcile.FormatJSON {
			require.Contains(t, out, `"credited_share": 0.7921`)
			require.Contains(t, out, `"credited_ratio": 0.4405`)
			continue
		}
		if f != reconcile.FormatCSV {
			// 190.50 credited of 443.50 less 11.00 not checked; 200.00 of
			// 516.99 less 15.00 indeterminate.
			require.Contains(t, out, "attributable as sent 33.93%, credited by GA4 44.05% (sent: 87.53% found, 79.21% credited)", f)
			require.Contains(t, out, "attributable as sent 58.03%, credited by GA4 39.84% (sent: 100.00% found, 49.38% credited)", f)
			require.Less(t, strings.Index(out, "credited by GA4 44.05%"), strings.Index(out, "1. Summary"), "%s: in the headline", f)
		}
		wants := []string{"Credited in GA4, per currency", "our label before the send", "by source",
			"the channels that got the credit", "Referral", "79.21%", "49.38%"}
		if f == reconcile.FormatCSV {
			wants = []string{"\ncredited,EUR,6,251.50,5,1,4,80.00%,87.53%,3,190.50,79.21%,", "\ncredited_by_label,EUR,missing_session_id,credited,1,40.00\n",
				"\ncredited_by_source,webhook,EUR,3,3,100.00%,90.50,81.90%\n", "\ncredited_channels,EUR,Referral,1,40.00\n"}
		}
		for _, want := range wants {
			require.Contains(t, out, want, f)
		}
	}
	table := render(t, r, reconcile.FormatTable)
	require.Contains(t, table, "EUR: GA4 reports 210.00 EUR for orders we sent at 210.50 EUR (4 orders).")
	require.Contains(t, table, "USD: GA4 reports 459.99 USD for orders we sent at 379.99 USD (3 orders); GA4 reports 1 order in\nanother currency: revenue not compared.")
}

// TestCreditedMetric: ObserveSettledCredited exports the credited share
// per currency as ga4_outbox_report_credited_ratio; the nightly run, whose
// day's outcomes are not final yet, leaves it alone.
func TestCreditedMetric(t *testing.T) {
	t.Parallel()
	pool, dir := nightlySetup(t)
	insertOutcomes(t, pool, fixtureOutcomes())
	m := reconcile.NewMetrics()
	res, err := newNightly(pool, dir, m).Run(context.Background(), nightlyNow)
	require.NoError(t, err)
	require.True(t, res.Ran)
	require.Zero(t, testutil.CollectAndCount(m.Collectors()[3]), "not set by the nightly report")
	require.NotNil(t, res.Report.Credited.Summary[0].CreditedRatio)
	m.ObserveSettledCredited(res.Report)
	require.NoError(t, testutil.CollectAndCompare(m.Collectors()[3], strings.NewReader(`
# HELP ga4_outbox_report_credited_ratio `+creditedHelp+`
# TYPE ga4_outbox_report_credited_ratio gauge
ga4_outbox_report_credited_ratio{currency="EUR"} 0.7605
ga4_outbox_report_credited_ratio{currency="USD"} 0
`)))
}

// creditedHelp is ga4_outbox_report_credited_ratio's help.
const creditedHelp = "Revenue GA4 credited to a real channel / revenue less consent_denied and less purchases whose outcome is unknown " +
	"(the attributable ratio's base), 0-1, per currency, over the most recent day whose outcomes are final " +
	"(3 to 4 days ago, set after each outcome fetch; not the nightly report's day); no series without outcomes."

// TestCreditedNoRevenueCompared: when GA4 reports a currency's orders
// only in another currency, no revenue is compared, and the table says so.
func TestCreditedNoRevenueCompared(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	_, err := tx.Exec(context.Background(), `UPDATE ga4_outbox.outcomes SET ga_currency = 'GBP' WHERE ga_currency = 'EUR'`)
	require.NoError(t, err)
	r := build(t, tx, false)
	eur := r.Credited.Summary[0]
	require.Equal(t, [2]int64{0, 4}, [2]int64{eur.Compared.Conversions, eur.OtherCurrency.Conversions}, "A1, A2, L1 and M1")
	require.True(t, eur.GARevenue.IsZero())
	require.Contains(t, render(t, r, reconcile.FormatTable), "\nEUR: GA4 reports 4 orders in another currency: revenue not compared.\n")
}
