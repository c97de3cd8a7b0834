package reconcile

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gauges of the last report this process wrote: register
// Collectors() on the /metrics registry and pass the value to Nightly.
type Metrics struct {
	share   *prometheus.GaugeVec
	atRisk  *prometheus.GaugeVec
	lastRun prometheus.Gauge
	// credited is ga4_outbox_report_credited_ratio (credited_metrics.go).
	credited *prometheus.GaugeVec
}

// NewMetrics returns unregistered gauges.
func NewMetrics() *Metrics {
	return &Metrics{
		share: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ga4_outbox_report_attributable_ratio",
			Help: "Attributable share of revenue (0-1) in the last report, per currency.",
		}, []string{"currency"}),
		atRisk: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ga4_outbox_report_revenue_at_risk",
			Help: "Revenue filed under Unassigned (missing_session_id) in the last report, per currency.",
		}, []string{"currency"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ga4_outbox_report_last_run_timestamp_seconds",
			Help: "Unix time the last report was generated.",
		}),
		credited: newCreditedGauge(),
	}
}

// Collectors returns the gauges to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.share, m.atRisk, m.lastRun, m.credited}
}

// observe sets the gauges from r, replacing the previous report's
// currencies. A currency without revenue has no share series.
func (m *Metrics) observe(r *Report) {
	m.share.Reset()
	m.atRisk.Reset()
	for _, s := range r.Summary {
		if s.AttributableShare != nil {
			m.share.WithLabelValues(s.Currency).Set(*s.AttributableShare)
		}
		f, _ := s.RevenueAtRisk.r.Float64() // a gauge is a float; the report keeps the exact value
		m.atRisk.WithLabelValues(s.Currency).Set(f)
	}
	m.lastRun.Set(float64(r.GeneratedAt.UnixNano()) / 1e9)
	// Not the credited ratio: the window's outcomes are not final yet
	// (ObserveSettledCredited).
}
