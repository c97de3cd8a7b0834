package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

func TestSettledDay(t *testing.T) {
	t.Parallel()
	for now, want := range map[string]string{
		"2026-11-25T03:00:00Z": "2026-11-21", // orders 75 to 99 h old
		"2026-11-25T23:59:00Z": "2026-11-21",
		"2026-11-26T00:00:00Z": "2026-11-22", // the 22nd ended exactly 72 h ago
	} {
		at, err := time.Parse(time.RFC3339, now)
		require.NoError(t, err)
		since, until := settledDay(at, 72*time.Hour)
		require.Equal(t, want, since.Format(time.DateOnly), now)
		require.Equal(t, 24*time.Hour, until.Sub(since))
		require.GreaterOrEqual(t, at.Sub(until), 72*time.Hour, "every order of the day is final")
	}
}

// TestOutcomeJobSetsSettledCreditedRatio: with the clock at 03:00 on
// 2026-11-25, the job looks up neither yesterday's order (younger than
// outcomes.settle) nor anything it need not, and sets
// ga4_outbox_report_credited_ratio from the 21st, whose outcomes are
// final (half its EUR revenue credited), not from the provisional
// not_found outcomes of the days after.
func TestOutcomeJobSetsSettledCreditedRatio(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	for _, o := range []struct {
		id string
		at time.Time
	}{
		{"S-1", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}, // settled day
		{"S-2", time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)},
		{"P-1", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}, // 41 h old: provisional
		{"Y-1", time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)}, // 7 h old: not looked up
	} {
		_, err := pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id,
			session_event_at, occurred_at, delivered_at, status, source)
			VALUES ($1, 100, 'EUR', '1.2', $2, $3, $3, $3, 'delivered', 'test')`, o.id, fmt.Sprint(o.at.Add(-time.Minute).Unix()), o.at)
		require.NoError(t, err)
	}
	fake := outcomestest.New(t)
	fake.Add("1001", outcomestest.Purchase{TransactionID: "S-1", Channel: "Email", Revenue: "100", Purchases: 1},
		outcomestest.Purchase{TransactionID: "S-2", Channel: "Direct", Revenue: "100", Purchases: 1})
	cfg := config.Default()
	cfg.GA4.PropertyID = "1001"
	cfg.Outcomes.Endpoint = fake.URL
	cfg.Outcomes.CredentialsFile = fake.ServiceAccountKey(t)
	var logs bytes.Buffer
	report := reconcile.NewMetrics()
	job := &outcomeJob{pool: pool, cfg: cfg, logger: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: outcomes.NewMetrics(),
		report: report, now: func() time.Time { return now }}
	require.NoError(t, job.run(ctx))

	var asked []string
	for _, r := range fake.Requests() {
		asked = append(asked, r.Report.DimensionFilter.Filter.InListFilter.Values...)
	}
	require.ElementsMatch(t, []string{"S-1", "S-2", "P-1"}, asked, "yesterday's order is too young to ask about")
	var provisional int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.outcomes WHERE NOT final AND outcome = 'not_found'`).Scan(&provisional))
	require.Equal(t, 1, provisional, "P-1")

	require.Equal(t, map[string]float64{"EUR": 0.5}, gaugeValues(t, report), "S-1 credited, S-2 direct; P-1 not counted")
	require.Contains(t, logs.String(), `"msg":"credited ratio of the settled day","day":"2026-11-21","credited_ratio":{"EUR":0.5}`)
}

// gaugeValues reads ga4_outbox_report_credited_ratio per currency.
func gaugeValues(t *testing.T, m *reconcile.Metrics) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "ga4_outbox_report_credited_ratio" {
			continue
		}
		for _, s := range f.GetMetric() {
			out[s.GetLabel()[0].GetValue()] = s.GetGauge().GetValue()
		}
	}
	return out
}
