// Package rulecheck validates deploy/prometheus/alerts.yaml with
// Prometheus's own rule-file parser: every expression must parse as PromQL
// and every annotation as a template, as `promtool check rules` does. It
// also parses the queries of the Grafana dashboard (deploy/grafana). It is
// a separate module so that Prometheus's dependency tree stays out of the
// sidecar's; `make test` runs it. (deploy's own tests check that the rules
// and panels read only metrics the sidecar registers.)
package rulecheck

import (
	"log/slog"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestAlertsParse(t *testing.T) {
	groups, errs := rulefmt.ParseFile("../alerts.yaml", false, model.UTF8Validation,
		parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		return
	}
	rules := 0
	for _, g := range groups.Groups {
		rules += len(g.Rules)
	}
	if rules == 0 {
		t.Fatal("no rules in alerts.yaml")
	}
}
