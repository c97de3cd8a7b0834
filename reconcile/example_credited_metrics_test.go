package reconcile_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// ExampleMetrics_ObserveSettledCredited sets ga4_outbox_report_credited_ratio
// from a report over the most recent day whose outcomes are final, as the
// outcome job does after each fetch (reconcile.Build over that day).
func ExampleMetrics_ObserveSettledCredited() {
	ratio := 0.4405
	r := &reconcile.Report{Credited: reconcile.Credited{Imported: true,
		Summary: []reconcile.CreditedSummary{{Currency: "EUR", CreditedRatio: &ratio}, {Currency: "USD"}}}}
	m := reconcile.NewMetrics()
	m.ObserveSettledCredited(r)

	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			if f.GetName() == "ga4_outbox_report_credited_ratio" {
				fmt.Println(s.GetLabel()[0].GetValue(), s.GetGauge().GetValue())
			}
		}
	}
	// Output: EUR 0.4405
}
