package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// dashboard is a Grafana dashboard, as far as the tests read it.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int         `json:"id"`
		Type       string      `json:"type"`
		Title      string      `json:"title"`
		Datasource *datasource `json:"datasource"`
		GridPos    struct{ X, Y, W, H int }
		Targets    []struct {
			RefID      string      `json:"refId"`
			Expr       string      `json:"expr"`
			Datasource *datasource `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("grafana/ga4-outbox.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d), "the dashboard is JSON")
	return d
}

// TestGrafanaDashboard: deploy/grafana/ga4-outbox.json imports into any
// Grafana with a Prometheus data source (a datasource variable, no fixed
// uid), every panel has a title and queries, and every query reads only
// metrics the sidecar registers (poller, sender, nightly report), as
// TestAlertRules checks for the alerts. prometheus/rulecheck parses the
// same queries as PromQL.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	d := readDashboard(t)
	require.Equal(t, "ga4-outbox", d.UID)
	require.NotEmpty(t, d.Title)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	require.Equal(t, "datasource", vars["datasource"], "a datasource variable, so the import works on any Grafana")

	names := sidecarMetrics(t)
	metric := regexp.MustCompile(`ga4_outbox_[a-z_]+`)
	used := map[string]bool{}
	check := func(where, expr string) {
		found := metric.FindAllString(expr, -1)
		require.NotEmpty(t, found, "%s reads a ga4_outbox metric: %s", where, expr)
		for _, m := range found {
			require.True(t, names[seriesMetric(m)], "%s: %s is not a metric the sidecar registers", where, m)
			used[seriesMetric(m)] = true
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			check("variable "+v.Name, q)
		}
	}

	ids := map[int]bool{}
	for _, p := range d.Panels {
		t.Run(p.Title, func(t *testing.T) {
			require.NotEmpty(t, p.Title)
			require.False(t, ids[p.ID], "panel ids are unique")
			ids[p.ID] = true
			require.NotEmpty(t, p.Targets, "at least one query")
			require.Equal(t, &datasource{"prometheus", "${datasource}"}, p.Datasource)
			require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "the panel fits the 24 columns")
			require.Positive(t, p.GridPos.H)
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				require.False(t, refs[tg.RefID], "refIds are unique within a panel")
				refs[tg.RefID] = true
				require.Equal(t, &datasource{"prometheus", "${datasource}"}, tg.Datasource)
				check(p.Title, tg.Expr)
				require.Contains(t, tg.Expr, `job=~"$job"`, "the job variable narrows every query")
			}
		})
	}

	// The dashboard shows every metric the sidecar registers: a new metric
	// gets a panel (or a line on one) along with its row in OPERATIONS.md.
	var missing []string
	for name := range names {
		if !used[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "metrics no panel reads")
}
