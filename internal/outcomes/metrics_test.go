package outcomes_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
)

// gathered returns the value of the series name{label=value} ("" label:
// the only series).
func gathered(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if label == "" || (l.GetName() == label && l.GetValue() == value) {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
			if label == "" {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func TestFetchMetrics(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := outcomes.NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	f.opts.Metrics, f.opts.BatchSize, f.opts.MinQuota = m, 1, -1
	for _, id := range []string{"A1", "A2", "A3"} {
		f.purchase(t, id, "", day1, "EUR")
	}
	f.fake.Add("1001", outcomestest.Purchase{TransactionID: "A1", Channel: "Direct", Revenue: "10", Purchases: 1})
	f.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 20 })
	f.fetch(t)
	require.Equal(t, 1.0, gathered(t, reg, "ga4_outbox_outcome_fetches_total", "result", "quota_exhausted"))
	require.Equal(t, 1.0, gathered(t, reg, "ga4_outbox_outcome_orders_total", "outcome", "direct"))
	require.Equal(t, 1.0, gathered(t, reg, "ga4_outbox_outcome_orders_total", "outcome", "not_found"))
	require.Equal(t, 1.0, gathered(t, reg, "ga4_outbox_outcome_orders_left", "", ""))

	f.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 100 })
	f.fetch(t)
	require.Equal(t, 1.0, gathered(t, reg, "ga4_outbox_outcome_fetches_total", "result", "ok"))
	require.Equal(t, 2.0, gathered(t, reg, "ga4_outbox_outcome_orders_total", "outcome", "not_found"))
	require.Equal(t, 0.0, gathered(t, reg, "ga4_outbox_outcome_orders_left", "", ""))
}
