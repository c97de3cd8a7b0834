package rulecheck

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaVars stand in for the variables the dashboard's queries use, so
// that Prometheus's parser reads them as Grafana would send them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$job", ".*")

// TestDashboardQueriesParse: every query of deploy/grafana/ga4-outbox.json
// parses as PromQL and selects only ga4_outbox_ series (deploy's own
// tests check that those are metrics the sidecar registers).
func TestDashboardQueriesParse(t *testing.T) {
	raw, err := os.ReadFile("../../grafana/ga4-outbox.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	queries := 0
	for _, panel := range d.Panels {
		for _, target := range panel.Targets {
			queries++
			expr, err := p.ParseExpr(grafanaVars.Replace(target.Expr))
			if err != nil {
				t.Errorf("%s: %s: %v", panel.Title, target.Expr, err)
				continue
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && !strings.HasPrefix(vs.Name, "ga4_outbox_") {
					t.Errorf("%s: selects %q, not a ga4_outbox metric", panel.Title, vs.Name)
				}
				return nil
			})
		}
	}
	if queries == 0 {
		t.Fatal("no queries in the dashboard")
	}
}
