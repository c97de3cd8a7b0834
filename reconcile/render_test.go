package reconcile_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
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
	t.Run("wide golden", func(t *testing.T) { golden(t, "report.wide.txt", render(t, r, reconcile.FormatWide)) })
	t.Run("json golden", func(t *testing.T) { golden(t, "report.json", render(t, r, reconcile.FormatJSON)) })
	t.Run("table fits in 100 columns", func(t *testing.T) { requireWidth(t, render(t, r, reconcile.FormatTable), 100) })
	t.Run("every format opens with the headline", func(t *testing.T) {
		for _, f := range reconcile.Formats {
			out := render(t, r, f)
			i := strings.Index(out, "293.00")
			require.Positive(t, i, f)
			for _, later := range []string{"503.50", "backfill"} {
				require.Less(t, i, strings.Index(out, later), "%s: the headline comes before %s", f, later)
			}
		}
	})
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
		require.Equal(t, []string{"section", "currency", "not attributable", "of revenue (less consent_denied)", "share"}, recs[0])
		require.Equal(t, []string{"headline", "EUR", "293.00", "443.50", "66.07%"}, recs[1])
		require.Equal(t, []string{"headline", "USD", "217.00", "516.99", "41.97%"}, recs[2])
		require.Equal(t, []string{"section", "currency", "source", "bucket", "conversions", "revenue"}, recs[3])
		require.Equal(t, []string{"top_causes", "EUR", "", "not_enqueued", "2", "75.00"}, recs[4])
		i := slices.IndexFunc(recs, func(rec []string) bool { return rec[0] == "summary" })
		require.Equal(t, []string{"section", "currency", "conversions", "revenue", "attributable", "attributable share",
			"not attributable", "at risk (Unassigned)"}, recs[i-1])
		require.Equal(t, []string{"summary", "EUR", "15", "503.50", "150.50", "33.93%", "293.00", "40.00"}, recs[i])
		require.Equal(t, []string{"summary", "USD", "9", "516.99", "299.99", "58.03%", "217.00", "25.00"}, recs[i+1])
	})
	t.Run("html is one self-contained page with the charts", func(t *testing.T) {
		out := render(t, r, reconcile.FormatHTML)
		require.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
		for _, want := range []string{"<style>", "<svg", `<meta name="viewport"`, "503.50", "516.99", "33.93%", "58.03%",
			`<div class="big">66.07% <small>of EUR revenue</small></div>`, "<li>orders query: 75.00 EUR never enqueued (2 orders)</li>",
			"<h3>EUR, per source</h3>", "<h3>USD, per day</h3>", `title="late: 41.00 EUR (2 conversions)"`,
			"<title>this report EUR: 33.93%</title>", "<title>this report USD: 58.03%</title>"} {
			require.Contains(t, out, want)
		}
		require.Less(t, strings.Index(out, `id="headline"`), strings.Index(out, "<svg"), "the headline comes first")
		for _, banned := range []string{"<script", "<link", "src=", "@import", "url("} {
			require.NotContains(t, out, banned, "no external assets")
		}
		require.Equal(t, 1, strings.Count(out, "http"), "only the SVG namespace")
	})
	t.Run("unknown format", func(t *testing.T) {
		require.ErrorContains(t, r.Render(&bytes.Buffer{}, "pdf"), `unknown format "pdf"`)
	})
}

// requireWidth fails when a line of out is wider than width columns.
func requireWidth(t *testing.T, out string, width int) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		require.LessOrEqual(t, utf8.RuneCountInString(line), width, "line %d is too wide:\n%s", i+1, line)
	}
}

// TestRenderControlCharacters: transaction ids, sources, currencies and
// errors carrying control characters (ESC sequences, newlines, a bidi
// override) reach no text format raw, and the table still fits in 100
// columns with long values.
func TestRenderControlCharacters(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	evil := "\x1b[31mred\x1b]0;title\x07\r\nnext\u202e"
	insertFixture(t, tx, []fixtureRow{
		{tx: "T-" + evil, value: "10.00", currency: "EUR", source: "src-" + evil, client: "123.456", occurred: s1.Add(time.Hour),
			status: "failed", reason: "rejected", attempts: 1, lastError: "HTTP 400: " + evil},
		{tx: "T-" + strings.Repeat("x", 80), value: "10.00", currency: "E\x1bUR" + strings.Repeat("Y", 30),
			source: strings.Repeat("very-long-source-", 6), client: "123.456", occurred: s1.Add(time.Hour),
			status: "failed", reason: "rejected", attempts: 1, lastError: strings.Repeat("a long error ", 15)},
	})
	r, err := reconcile.Build(context.Background(), tx, fixtureOptions(false))
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(r.Health.TopErrors, func(e reconcile.ErrorCount) bool { return e.Error == "HTTP 400: "+evil }),
		"the report itself keeps the text")
	for _, f := range reconcile.Formats {
		out := render(t, r, f)
		// JSON escapes control characters itself and keeps other text exact;
		// CSV quotes a field's newline: the checks below cover them.
		if f != reconcile.FormatCSV {
			for _, c := range out {
				if c != '\n' {
					require.False(t, unicode.IsControl(c) || (c == '\u202e' && f != reconcile.FormatJSON), "%s prints %U raw", f, c)
				}
			}
		}
		if f != reconcile.FormatJSON {
			require.NotContains(t, out, "\x1b", f)
			require.NotContains(t, out, "\r", f)
			require.NotContains(t, out, "title\x07", f)
		}
	}
	table := render(t, r, reconcile.FormatTable)
	require.Contains(t, table, `| src-\x1b[31mred\x1b… |`, "escaped, then clipped")
	require.Contains(t, table, `HTTP 400: \x1b[31mred\x1b]0;title\a\r\nnext\u202e`)
	requireWidth(t, table, 100)
}
