package rulecheck

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// ruleExpr returns the expression of the alert named name in alerts.yaml.
func ruleExpr(t *testing.T, name string) string {
	t.Helper()
	groups, errs := rulefmt.ParseFile("../alerts.yaml", false, model.UTF8Validation,
		parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == name {
				return r.Expr
			}
		}
	}
	t.Fatalf("no alert %s in alerts.yaml", name)
	return ""
}

// TestCreditedFarBelowAttributable evaluates the alert's expression with
// Prometheus's engine: EUR, credited at 30 % of revenue while 60 % was sent
// attributable, fires with the credited share as its value; USD (55 % of
// 60 %) and a currency without outcomes (no credited series) do not.
func TestCreditedFarBelowAttributable(t *testing.T) {
	expr := ruleExpr(t, "GA4OutboxCreditedFarBelowAttributable")
	promqltest.RunTest(t, fmt.Sprintf(`
load 1m
  ga4_outbox_report_credited_ratio{currency="EUR", instance="a"} 0.3x10
  ga4_outbox_report_attributable_ratio{currency="EUR", instance="a"} 0.6x10
  ga4_outbox_report_credited_ratio{currency="USD", instance="a"} 0.55x10
  ga4_outbox_report_attributable_ratio{currency="USD", instance="a"} 0.6x10
  ga4_outbox_report_attributable_ratio{currency="GBP", instance="a"} 0.9x10

eval instant at 5m %s
  {currency="EUR"} 0.3
`, expr), promqltest.NewTestEngine(t, false, 0, 1000))
}
