package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/printable"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

const reportUsage = `[--since T --until T | --window 24h] [--format table|markdown|csv|json|html] [--wide] [--out FILE] [--fail-under 0.95]

Prints the attribution report for a window of business time [since, until),
opening with the revenue GA4 cannot attribute, per currency, and its top
causes. T is RFC 3339 (2026-03-01T00:00:00Z) or a UTC date (2026-03-01).
Without --since and --until the window is the last --window (24h, 90m, 7d)
up to now; with one of them, --window extends it. The table fits in 100
columns; --wide shows every bucket, column and whole text. --fail-under
exits with status 3 when the attributable share of revenue of any currency
is below the threshold (0-1).`

// reportFlags are the report command's parsed flags.
type reportFlags struct {
	since, until, format, out string
	window                    string
	wide                      bool
	failUnder                 float64
}

func runReport(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "report", reportUsage)
	var f reportFlags
	fs.StringVar(&f.since, "since", "", "window start (inclusive), RFC 3339 or YYYY-MM-DD (UTC)")
	fs.StringVar(&f.until, "until", "", "window end (exclusive), RFC 3339 or YYYY-MM-DD (UTC)")
	fs.StringVar(&f.window, "window", "24h", "window length when --since or --until is missing: 24h, 90m, 7d")
	fs.StringVar(&f.format, "format", reconcile.FormatTable, "output format: "+strings.Join(reconcile.Formats, ", ")+" (md for markdown)")
	fs.BoolVar(&f.wide, "wide", false, "table: every bucket, column and whole text (wider than 100 columns)")
	fs.StringVar(&f.out, "out", "", "write the report to FILE instead of stdout")
	fs.Float64Var(&f.failUnder, "fail-under", 0, "exit 3 when the attributable share of revenue is below this (0 = off)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	since, until, err := f.validate(time.Now(), fs.Args())
	if err != nil {
		return usageError{fmt.Errorf("report: %w", err)}
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, 2)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer pool.Close()
	opts := reportOptions(cfg)
	opts.Since, opts.Until = since, until
	r, err := reconcile.Build(ctx, pool, opts)
	if err != nil {
		return fmt.Errorf("report: %w", explainMissingSchema(err))
	}
	if err := writeReport(e.stdout, f.out, f.format, r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return checkShare(e.stderr, r, f.failUnder)
}

// reportOptions maps the reconcile section of config.yaml to report
// options; the window is the caller's.
func reportOptions(cfg *config.Config) reconcile.Options {
	return reconcile.Options{
		StuckAfter:      cfg.Reconcile.StuckAfter.D(),
		Examples:        cfg.Reconcile.Examples,
		OrdersQuery:     cfg.Reconcile.OrdersQuery,
		ParallelWorkers: cfg.Reconcile.ParallelWorkers,
	}
}

func (f *reportFlags) validate(now time.Time, rest []string) (since, until time.Time, err error) {
	if f.format == "md" {
		f.format = reconcile.FormatMarkdown
	}
	if f.wide && f.format == reconcile.FormatTable {
		f.format = reconcile.FormatWide
	}
	switch {
	case len(rest) > 0:
		return since, until, fmt.Errorf("unexpected arguments %q", rest)
	case !slices.Contains(reconcile.Formats, f.format):
		return since, until, fmt.Errorf("--format %q: must be one of %s", f.format, strings.Join(reconcile.Formats, ", "))
	case f.failUnder < 0 || f.failUnder > 1:
		return since, until, fmt.Errorf("--fail-under %g: must be a share between 0 and 1 (0.95 = 95 %%)", f.failUnder)
	}
	window, err := parseWindow(f.window)
	if err != nil {
		return since, until, fmt.Errorf("--window %w", err)
	}
	if since, err = parseReportTime("--since", f.since); err != nil {
		return since, until, err
	}
	if until, err = parseReportTime("--until", f.until); err != nil {
		return since, until, err
	}
	switch {
	case since.IsZero() && until.IsZero():
		until = now.UTC().Truncate(time.Second)
		since = until.Add(-window)
	case since.IsZero():
		since = until.Add(-window)
	case until.IsZero():
		until = since.Add(window)
	}
	if !since.Before(until) {
		return since, until, fmt.Errorf("--since %s must be before --until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return since, until, nil
}

func parseReportTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: use RFC 3339 (2026-03-01T00:00:00Z) or a date (2026-03-01, UTC)", flag, s)
}

// writeReport renders r to stdout, or to path through a temporary file
// renamed into place so a reader never sees half a report.
func writeReport(stdout io.Writer, path, format string, r *reconcile.Report) error {
	if path == "" {
		return r.Render(stdout, format)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := r.Render(tmp, format); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// checkShare turns --fail-under into exit status 3.
func checkShare(stderr io.Writer, r *reconcile.Report, threshold float64) error {
	if threshold == 0 {
		return nil
	}
	share, currency, ok := r.MinShare()
	if !ok {
		fmt.Fprintln(stderr, "ga4-outbox report: no revenue in the window; --fail-under not applied")
		return nil
	}
	if share < threshold {
		if currency == reconcile.NoCurrency {
			currency = "no currency"
		}
		return exitError{code: 3, err: fmt.Errorf("attributable share of revenue %.2f%% (%s) is below --fail-under %.2f%%",
			share*100, printable.Escape(currency), threshold*100)}
	}
	return nil
}

// parseWindow reads --window: a Go duration (24h, 90m) or a number of
// days (7d), optionally followed by a duration (1d12h). It must be
// positive.
func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3660 {
			return 0, fmt.Errorf("%q: use a duration such as 24h, 90m or 7d", s)
		}
		d, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q: use a duration such as 24h, 90m or 7d", s)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return d, nil
}
