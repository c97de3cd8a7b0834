package reconcile

import "github.com/prometheus/client_golang/prometheus"

// newCreditedGauge is ga4_outbox_report_credited_ratio: a 0-1 ratio, named
// _ratio like ga4_outbox_report_attributable_ratio (Prometheus's naming
// conventions), so the two read side by side.
func newCreditedGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ga4_outbox_report_credited_ratio",
		Help: "Revenue GA4 credited to a real channel / revenue less consent_denied and less purchases whose outcome is unknown (the attributable ratio's base), 0-1, per currency, over the most recent day whose outcomes are final (3 to 4 days ago, set after each outcome fetch; not the nightly report's day); no series without outcomes.",
	}, []string{"currency"})
}

// ObserveSettledCredited sets ga4_outbox_report_credited_ratio from r, a
// report over the most recent day whose outcomes are final, replacing the
// previous day's series. The outcome job calls it after each fetch; the
// nightly report does not, since yesterday's outcomes are provisional.
func (m *Metrics) ObserveSettledCredited(r *Report) { m.observeCredited(r) }

// observeCredited sets the credited share of each currency of r that has
// a determinate outcome, replacing the previous report's.
func (m *Metrics) observeCredited(r *Report) {
	m.credited.Reset()
	for _, s := range r.Credited.Summary {
		if s.CreditedRatio != nil {
			m.credited.WithLabelValues(s.Currency).Set(*s.CreditedRatio)
		}
	}
}
