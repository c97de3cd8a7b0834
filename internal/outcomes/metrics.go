package outcomes

import "github.com/prometheus/client_golang/prometheus"

// Metrics count what the outcome import does: register Collectors() on
// the /metrics registry and pass the value in Options.Metrics. A nil
// *Metrics counts nothing.
type Metrics struct {
	fetches *prometheus.CounterVec
	orders  *prometheus.CounterVec
	left    prometheus.Gauge
}

// NewMetrics returns unregistered metrics, every label value present at 0.
func NewMetrics() *Metrics {
	m := &Metrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ga4_outbox", Name: "outcome_fetches_total",
			Help: "Outcome fetches from GA4, by result (ok, quota_exhausted, failed)."}, []string{"result"}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ga4_outbox", Name: "outcome_orders_total",
			Help: "Orders looked up in GA4 and stored, by outcome (a provisional order counts at each check)."}, []string{"outcome"}),
		left: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "ga4_outbox", Name: "outcome_orders_left",
			Help: "Orders the last outcome fetch could not look up (quota or error); the next fetch picks them again."}),
	}
	for _, r := range []string{"ok", "quota_exhausted", "failed"} {
		m.fetches.WithLabelValues(r)
	}
	for _, o := range Outcomes {
		m.orders.WithLabelValues(string(o))
	}
	return m
}

// Collectors returns the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.fetches, m.orders, m.left}
}

func (m *Metrics) fetched(result string) {
	if m != nil {
		m.fetches.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) classified(o Outcome) {
	if m != nil {
		m.orders.WithLabelValues(string(o)).Inc()
	}
}

// fetchDone counts a finished fetch: failed when a property failed,
// quota_exhausted when one stopped on its quota, else ok.
func (m *Metrics) fetchDone(s *Summary, errs []error) {
	if m == nil {
		return
	}
	m.left.Set(float64(s.Left))
	switch {
	case len(errs) > 0:
		m.fetched("failed")
	case len(s.QuotaStopped) > 0:
		m.fetched("quota_exhausted")
	default:
		m.fetched("ok")
	}
}
