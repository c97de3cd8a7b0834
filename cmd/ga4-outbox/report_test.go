package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// reportDB returns the URL of a fresh database holding, on 2026-03-01: one
// attributable EUR 100.00, one EUR 60.00 without session_id and one USD
// 10.00 attributable; and one row outside the window.
func reportDB(t *testing.T) string {
	t.Helper()
	url := pgtest.URL(t)
	ctx := context.Background()
	pool, err := dbconn.OpenPool(ctx, url, 1)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, `
	INSERT INTO ga4_outbox.events (transaction_id, value, currency, source, client_id, session_id,
	  session_event_at, occurred_at, delivered_at, status, attempts) VALUES
	  ('T1', 100.00, 'EUR', 'checkout', '1.2', '1772359200', '2026-03-01 10:01Z', '2026-03-01 10:02Z', '2026-03-01 10:03Z', 'delivered', 1),
	  ('T2', 60.00, 'EUR', 'webhook', '1.2', NULL, NULL, '2026-03-01 11:00Z', '2026-03-01 11:01Z', 'delivered', 1),
	  ('T3', 10.00, 'USD', 'checkout', '1.2', '1772359200', '2026-03-01 10:01Z', '2026-03-01 10:02Z', '2026-03-01 10:03Z', 'delivered', 1),
	  ('T4', 99.00, 'EUR', 'webhook', '1.2', NULL, NULL, '2026-03-02 11:00Z', '2026-03-02 11:01Z', 'delivered', 1)`)
	require.NoError(t, err)
	return url
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": reportDB(t), "GA4_OUTBOX_CONFIG": filepath.Join(t.TempDir(), "none.yaml")}
	require.NoError(t, os.WriteFile(env["GA4_OUTBOX_CONFIG"], []byte("reconcile:\n  examples: 2\n"), 0o600))
	window := []string{"report", "--since", "2026-03-01", "--until", "2026-03-02"}

	t.Run("json on stdout", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, append(window, "--format", "json")...)
		require.Equal(t, 0, r.code, r.stderr)
		var rep struct {
			Since   time.Time `json:"since"`
			Summary []struct {
				Currency          string   `json:"currency"`
				Conversions       int      `json:"conversions"`
				Revenue           string   `json:"revenue"`
				AttributableShare *float64 `json:"attributable_share"`
				RevenueAtRisk     string   `json:"revenue_at_risk"`
			} `json:"summary"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
		require.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), rep.Since)
		require.Len(t, rep.Summary, 2)
		eur, usd := rep.Summary[0], rep.Summary[1]
		require.Equal(t, "EUR", eur.Currency)
		require.Equal(t, 2, eur.Conversions)
		require.Equal(t, "160.00", eur.Revenue)
		require.Equal(t, "60.00", eur.RevenueAtRisk)
		require.InDelta(t, 0.625, *eur.AttributableShare, 1e-9)
		require.Equal(t, "USD", usd.Currency)
		require.InDelta(t, 1.0, *usd.AttributableShare, 1e-9)
	})
	t.Run("table by default", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, window...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "| EUR      |           2 |  160.00 |       100.00 |             62.50% |")
		require.Regexp(t, `\| webhook +\| EUR +\| +1 \| +60\.00 \|`, r.stdout)
	})
	t.Run("fail-under below the share passes", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, append(window, "--fail-under", "0.6", "--format", "csv")...)
		require.Equal(t, 0, r.code, r.stderr)
	})
	t.Run("fail-under above the lowest share exits 3 naming the currency", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, append(window, "--fail-under", "0.95", "--format", "markdown")...)
		require.Equal(t, 3, r.code)
		require.Contains(t, r.stdout, "# GA4 attribution report", "the report is still printed")
		require.Contains(t, r.stderr, "attributable share of revenue 62.50% (EUR) is below --fail-under 95.00%")
	})
	t.Run("out writes the file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "r.html")
		r := runCmd(t, env, append(window, "--format", "html", "--out", path)...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Empty(t, r.stdout)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(b), "<svg")
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file left behind")
	})
	t.Run("empty window: fail-under not applied", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, "report", "--since", "2027-01-01", "--window", "1h", "--fail-under", "0.9")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "no revenue in the window")
	})
}

// TestReportOrdersQueryFromConfig runs the orders query documented in
// docs/REPORT.md and config.yaml from a config file, through the loader's
// environment expansion ($1 and $2 must reach PostgreSQL), with a comment
// as its last line.
func TestReportOrdersQueryFromConfig(t *testing.T) {
	t.Parallel()
	url := reportDB(t)
	pool, err := dbconn.OpenPool(context.Background(), url, 1)
	require.NoError(t, err)
	_, err = pool.Exec(context.Background(), `CREATE TABLE public.orders (id bigint, total numeric, currency text, paid_at timestamptz);
		INSERT INTO public.orders VALUES (1, 42.50, 'eur', '2026-03-01 12:00Z'), (2, 9.99, 'EUR', '2026-03-02 12:00Z')`)
	pool.Close()
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`database:
  url: ${REPORT_DB}
reconcile:
  orders_query: |
    SELECT id::text AS transaction_id, total AS value, currency, paid_at AS occurred_at
    FROM public.orders WHERE paid_at >= $1 AND paid_at < $2
    -- the application's paid orders
`), 0o600))
	r := runCmd(t, map[string]string{"REPORT_DB": url}, "report", "--config", cfg, "--since", "2026-03-01", "--window", "1d", "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		Orders struct {
			Configured  bool `json:"configured"`
			Orders      int  `json:"orders"`
			NotEnqueued []struct {
				Currency string `json:"currency"`
				Revenue  string `json:"revenue"`
			} `json:"not_enqueued"`
		} `json:"orders"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.True(t, rep.Orders.Configured)
	require.Equal(t, 1, rep.Orders.Orders, "the order of 2026-03-01 only")
	require.Equal(t, "EUR", rep.Orders.NotEnqueued[0].Currency)
	require.Equal(t, "42.50", rep.Orders.NotEnqueued[0].Revenue)
}

func TestReportCommandFormats(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": reportDB(t)}
	window := []string{"report", "--since", "2026-03-01", "--until", "2026-03-02"}
	t.Run("the table opens with the headline and fits in 100 columns", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, window...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "  EUR 60.00 of 160.00 not attributable (37.50%)\n"+
			"    webhook: 60.00 EUR without session_id (1 conversion)\n")
		for _, line := range strings.Split(r.stdout, "\n") {
			require.LessOrEqual(t, utf8.RuneCountInString(line), 100, line)
		}
	})
	t.Run("--wide shows every bucket", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, append(window, "--wide")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Regexp(t, `\| EUR +\| pending, stuck \(older than 1h\) +\| +0 \| +0\.00 \|`, r.stdout)
	})
	t.Run("md is markdown", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, append(window, "--format", "md")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "# GA4 attribution report"))
	})
	t.Run("--window in days", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, env, "report", "--until", "2026-03-03", "--window", "7d", "--format", "json")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, `"since": "2026-02-24T00:00:00Z"`)
	})
	t.Run("a database without the schema gets the migrate hint", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, map[string]string{"DATABASE_URL": pgtest.EmptyURL(t)}, window...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "run ga4-outbox migrate up")
	})
}

func TestParseWindow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0d30m": 30 * time.Minute} {
		got, err := parseWindow(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0d", "-1h", "d", "1.5d", "7days", "1w", "-2d"} {
		_, err := parseWindow(in)
		require.Error(t, err, in)
	}
}

func TestReportCommandUsage(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"bad format":         {"--format", "pdf"},
		"bad since":          {"--since", "yesterday"},
		"until before since": {"--since", "2026-03-02", "--until", "2026-03-01"},
		"fail-under > 1":     {"--fail-under", "95"},
		"negative window":    {"--window", "-1h"},
		"window in weeks":    {"--window", "1w"},
		"extra argument":     {"now"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, map[string]string{"DATABASE_URL": "postgres://u:dbpassword@127.0.0.1:1/x"}, append([]string{"report"}, args...)...)
			require.Equal(t, 2, r.code, r.stderr)
			require.Contains(t, r.stderr, "report: ")
			require.NotContains(t, r.stderr, "dbpassword")
		})
	}
}

func TestCheckShareNamesTheCurrency(t *testing.T) {
	t.Parallel()
	half := 0.5
	r := &reconcile.Report{Summary: []reconcile.CurrencySummary{{Currency: reconcile.NoCurrency, AttributableShare: &half}}}
	err := checkShare(io.Discard, r, 0.9)
	require.EqualError(t, err, "attributable share of revenue 50.00% (no currency) is below --fail-under 90.00%")
}

// TestExplainMissingSchema: the migrate hint is for the sidecar's schema
// only; a missing table of the orders query keeps PostgreSQL's message.
func TestExplainMissingSchema(t *testing.T) {
	t.Parallel()
	ours := fmt.Errorf("build report: %w", &pgconn.PgError{Code: "42P01", Message: `relation "ga4_outbox.events" does not exist`})
	require.ErrorContains(t, explainMissingSchema(ours), "run ga4-outbox migrate up")
	theirs := fmt.Errorf("run reconcile.orders_query: %w", &pgconn.PgError{Code: "42P01", Message: `relation "public.orders" does not exist`})
	require.Equal(t, theirs, explainMissingSchema(theirs))
}
