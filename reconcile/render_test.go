package reconcile_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func render(t *testing.T, r *reconcile.Report, format string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, r.Render(&b, format))
	return b.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./reconcile -update to create %s", path)
	require.Equal(t, string(want), got)
}

func TestRender(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	r := build(t, tx, true)

	t.Run("table golden", func(t *testing.T) { golden(t, "report.txt", render(t, r, reconcile.FormatTable)) })
	t.Run("markdown golden", func(t *testing.T) { golden(t, "report.md", render(t, r, reconcile.FormatMarkdown)) })
	t.Run("csv golden", func(t *testing.T) { golden(t, "report.csv", render(t, r, reconcile.FormatCSV)) })
	t.Run("html golden", func(t *testing.T) { golden(t, "report.html", render(t, r, reconcile.FormatHTML)) })

	t.Run("json round-trips every number", func(t *testing.T) {
		out := render(t, r, reconcile.FormatJSON)
		var back reconcile.Report
		require.NoError(t, json.Unmarshal([]byte(out), &back))
		require.Equal(t, wantWithOrders(), digest(&back))
		require.Equal(t, reconcile.SchemaVersion, back.SchemaVersion)
	})
	t.Run("json: counts are numbers, money is strings", func(t *testing.T) {
		var raw map[string]any
		require.NoError(t, json.Unmarshal([]byte(render(t, r, reconcile.FormatJSON)), &raw))
		eur := raw["summary"].([]any)[0].(map[string]any)
		require.Equal(t, "EUR", eur["currency"])
		require.Equal(t, float64(15), eur["conversions"])
		require.Equal(t, "503.50", eur["revenue"])
		require.Equal(t, "40.00", eur["revenue_at_risk"])
		require.Equal(t, 0.3393, eur["attributable_share"])
		pending := eur["buckets"].([]any)[8].(map[string]any)
		require.Equal(t, "pending", pending["bucket"])
		require.Equal(t, map[string]any{"conversions": float64(0), "revenue": "0.00"}, pending["stuck"])
	})
	t.Run("csv parses and carries the summary", func(t *testing.T) {
		cr := csv.NewReader(strings.NewReader(render(t, r, reconcile.FormatCSV)))
		cr.FieldsPerRecord = -1
		recs, err := cr.ReadAll()
		require.NoError(t, err)
		require.Equal(t, []string{"section", "currency", "conversions", "revenue", "attributable", "attributable share", "at risk (Unassigned)"}, recs[0])
		require.Equal(t, []string{"summary", "EUR", "15", "503.50", "150.50", "33.93%", "40.00"}, recs[1])
		require.Equal(t, []string{"summary", "USD", "9", "516.99", "299.99", "58.03%", "25.00"}, recs[2])
	})
	t.Run("html is one self-contained page with the chart", func(t *testing.T) {
		out := render(t, r, reconcile.FormatHTML)
		require.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
		for _, want := range []string{"<style>", "<svg", "503.50", "516.99", "33.93%", "58.03%",
			"<title>2026-03-01 EUR: 60.08%</title>", "<title>2026-03-02 USD: 96.15%</title>", "<title>2026-03-03 EUR: 0.00%</title>"} {
			require.Contains(t, out, want)
		}
		require.Len(t, regexp.MustCompile(`<circle `).FindAllString(out, -1), len(r.ByDay), "one point per day and currency")
		for _, banned := range []string{"<script", "<link", "src=", "@import", "url("} {
			require.NotContains(t, out, banned, "no external assets")
		}
		require.Equal(t, 1, strings.Count(out, "http"), "only the SVG namespace")
	})
	t.Run("unknown format", func(t *testing.T) {
		require.ErrorContains(t, r.Render(&bytes.Buffer{}, "pdf"), `unknown format "pdf"`)
	})
}
