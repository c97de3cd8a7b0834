package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

const (
	fetchFlagsUsage = "[--since T] [--until T] [--settle D] [--format text|json]"
	outcomesUsage   = "fetch " + fetchFlagsUsage + "\n       ga4-outbox outcomes check\n\n" + outcomesHelp
)

const outcomesHelp = `Reads back what GA4 recorded and credited for each purchase, with the GA4
Data API (docs/OUTCOMES.md).

  fetch  looks up the purchases of [since, until) whose outcome is missing
         or still provisional and stores it in ga4_outbox.outcomes. T is
         RFC 3339 or a UTC date; the default window is the last
         outcomes.lookback_days days. Orders younger than outcomes.settle
         (24h; --settle overrides, 0: any age) are left for later: GA4
         has not processed them yet. Prints orders looked up, per
         outcome, and the quota left. A spent quota stops the fetch early: what was
         fetched is kept, the next fetch resumes (exit 0).
  check  loads the credentials, reaches each property and checks that it
         can report transactionId with the session's channel, source /
         medium and campaign (checkCompatibility). Exit 1 on any failure.

Needs a property id (ga4.property_id or GA4_PROPERTY_ID,
ga4.properties[].property_id) and credentials: outcomes.credentials_file (a
service-account key with the Viewer role on the property) or Application
Default Credentials.`

func runOutcomes(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		fmt.Fprintf(e.stderr, "Usage: ga4-outbox outcomes %s\n", outcomesUsage)
		return usageError{errors.New("outcomes: missing fetch or check")}
	}
	sub := *e
	sub.args = e.args[1:]
	switch e.args[0] {
	case "fetch":
		return runOutcomesFetch(ctx, &sub)
	case "check":
		return runOutcomesCheck(ctx, &sub)
	case "help", "-h", "-help", "--help":
		fmt.Fprintf(e.stdout, "Usage: ga4-outbox outcomes %s\n", outcomesUsage)
		return nil
	}
	fmt.Fprintf(e.stderr, "Usage: ga4-outbox outcomes %s\n", outcomesUsage)
	return usageError{fmt.Errorf("outcomes: unknown command %q: use fetch or check", e.args[0])}
}

func runOutcomesFetch(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "outcomes fetch", fetchFlagsUsage+"\n\n"+outcomesHelp)
	since := fs.String("since", "", "window start (inclusive, business time), RFC 3339 or YYYY-MM-DD (UTC); default: until - outcomes.lookback_days")
	until := fs.String("until", "", "window end (exclusive), RFC 3339 or YYYY-MM-DD (UTC); default: now")
	format := fs.String("format", "text", "output: text or json")
	settle := fs.String("settle", "", "look up only orders at least this old, e.g. 24h; 0 looks up every order (default: outcomes.settle)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	opts, err := fetchWindow(*since, *until, *format, fs.Args())
	if err == nil {
		opts.Settle, err = parseSettle(*settle)
	}
	if err != nil {
		return usageError{fmt.Errorf("outcomes fetch: %w", err)}
	}
	cfg, err := loadOutcomesConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	src, err := newOutcomeSource(ctx, cfg)
	if err != nil {
		return fmt.Errorf("outcomes fetch: %w", err)
	}
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, 2)
	if err != nil {
		return fmt.Errorf("outcomes fetch: %w", err)
	}
	defer pool.Close()
	o := outcomeOptions(cfg, slog.New(slog.NewTextHandler(e.stderr, nil)), nil)
	o.Since, o.Until = opts.Since, opts.Until
	if *settle != "" {
		o.Settle = opts.Settle
	}
	sum, fetchErr := outcomes.Fetch(ctx, pool, src, o)
	if sum != nil && (fetchErr == nil || sum.Due > 0) {
		if err := printOutcomeSummary(e.stdout, sum, *format); err != nil {
			return fmt.Errorf("outcomes fetch: %w", err)
		}
	}
	if fetchErr != nil {
		return fmt.Errorf("outcomes fetch: %w", explainMissingSchema(fetchErr))
	}
	return nil
}

// fetchWindow checks fetch's flags; a zero bound is left to Fetch (until:
// now; since: until - lookback).
func fetchWindow(since, until, format string, rest []string) (outcomes.Options, error) {
	var o outcomes.Options
	var err error
	switch {
	case len(rest) > 0:
		return o, fmt.Errorf("unexpected arguments %q", rest)
	case format != "text" && format != "json":
		return o, fmt.Errorf("--format %q: must be text or json", format)
	}
	if o.Since, err = parseReportTime("--since", since); err != nil {
		return o, err
	}
	if o.Until, err = parseReportTime("--until", until); err != nil {
		return o, err
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return o, fmt.Errorf("--since %s must be before --until %s", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	return o, nil
}

// loadOutcomesConfig loads the config and requires a property id.
func loadOutcomesConfig(e *env, path string) (*config.Config, error) {
	cfg, err := loadConfig(e, path)
	if err != nil {
		return nil, err
	}
	if len(cfg.OutcomeProperties()) == 0 {
		return nil, exitError{code: 2, err: errors.New("outcomes: no GA4 property id configured: set ga4.property_id " +
			"(or GA4_PROPERTY_ID) to the numeric id in GA4 Admin > Property details, or ga4.properties[].property_id")}
	}
	return cfg, nil
}

// newOutcomeSource builds the Data API source from the outcomes section.
func newOutcomeSource(ctx context.Context, cfg *config.Config) (*dataapi.Client, error) {
	return dataapi.New(ctx, dataapi.Config{CredentialsFile: cfg.Outcomes.CredentialsFile, Endpoint: cfg.Outcomes.Endpoint})
}

// outcomeOptions maps config.yaml to fetch options; the window is the
// caller's (default: the last lookback_days days).
func outcomeOptions(cfg *config.Config, logger *slog.Logger, metrics *outcomes.Metrics) outcomes.Options {
	o := cfg.Outcomes
	opts := outcomes.Options{
		Lookback:             time.Duration(o.LookbackDays) * 24 * time.Hour,
		DefaultMeasurementID: cfg.GA4.MeasurementID,
		BatchSize:            o.BatchSize,
		MinQuota:             o.MinQuotaTokens,
		FinalAfter:           o.FinalAfter.D(),
		Settle:               noneIfZero(o.Settle.D()),
		Logger:               logger,
		Metrics:              metrics,
	}
	if opts.MinQuota == 0 {
		opts.MinQuota = -1 // config's 0 is no margin; Options' 0 is the default
	}
	for _, p := range cfg.OutcomeProperties() {
		opts.Properties = append(opts.Properties, outcomes.Property{MeasurementID: p.MeasurementID, PropertyID: p.PropertyID})
	}
	return opts
}

// printOutcomeSummary prints what a fetch did, as text or JSON.
func printOutcomeSummary(w io.Writer, s *outcomes.Summary, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(w, "Outcomes of orders from %s to %s\n", s.Since.UTC().Format(time.RFC3339), s.Until.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "looked up %d of %d orders in %d %s (%d final, %d provisional)",
		s.LookedUp, s.Due, s.Requests, plural(s.Requests, "request"), s.Final, s.LookedUp-s.Final)
	var parts []string
	for _, c := range s.Counts() {
		parts = append(parts, fmt.Sprintf("%s %d", c.Outcome, c.Orders))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if s.Young > 0 {
		fmt.Fprintf(w, "not looked up yet, younger than the settle age (GA4 has not processed them): %d %s\n", s.Young, plural(s.Young, "order"))
	}
	if s.Left > 0 {
		fmt.Fprintf(w, "left for the next run: %d orders", s.Left)
		if len(s.QuotaStopped) > 0 {
			fmt.Fprintf(w, " (quota spent on property %s)", strings.Join(s.QuotaStopped, ", "))
		}
		fmt.Fprintln(w)
	}
	for _, pid := range slices.Sorted(maps.Keys(s.QuotaLeft)) {
		fmt.Fprintf(w, "quota left on property %s: %d tokens\n", pid, s.QuotaLeft[pid])
	}
	for _, mid := range slices.Sorted(maps.Keys(s.NoPropertyID)) {
		fmt.Fprintf(w, "not looked up, no property id for %s: %d purchases\n", cmpOr(mid, "the default property"), s.NoPropertyID[mid])
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func runOutcomesCheck(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "outcomes check", "\n\n"+outcomesHelp)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usageError{fmt.Errorf("outcomes check: unexpected arguments %q", fs.Args())}
	}
	cfg, err := loadOutcomesConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	src, err := newOutcomeSource(ctx, cfg)
	if err != nil {
		fmt.Fprintf(e.stdout, "FAIL credentials: %v\n", err)
		return exitError{code: 1, err: errors.New("outcomes check: the credentials cannot be used")}
	}
	fmt.Fprintf(e.stdout, "ok   credentials: %s\n", credentialsName(cfg))
	failed := 0
	props := cfg.OutcomeProperties()
	for _, p := range props {
		name := fmt.Sprintf("property %s (%s)", p.PropertyID, cmpOr(p.MeasurementID, cmpOr(cfg.GA4.MeasurementID, "default")))
		if err := src.Check(ctx, p.PropertyID); err != nil {
			failed++
			fmt.Fprintf(e.stdout, "FAIL %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(e.stdout, "ok   %s: reachable, dimensions and metrics compatible\n", name)
	}
	if failed > 0 {
		return exitError{code: 1, err: fmt.Errorf("outcomes check: %d of %d properties failed", failed, len(props))}
	}
	return nil
}

// credentialsName says which credentials are used, never their content.
func credentialsName(cfg *config.Config) string {
	if f := cfg.Outcomes.CredentialsFile; f != "" {
		return "service-account key " + f
	}
	return "Application Default Credentials"
}

// scheduleOutcomes adds the daily outcome fetch to the run command's jobs
// when a property id is configured and outcomes.schedule is not off.
func scheduleOutcomes(ctx context.Context, jobs *jobScheduler, j *outcomeJob) error {
	cfg, logger := j.cfg, j.logger
	if cfg.Outcomes.Schedule == "off" || len(cfg.OutcomeProperties()) == 0 {
		logger.Debug("outcome fetch not scheduled", "schedule", cfg.Outcomes.Schedule, "properties", len(cfg.OutcomeProperties()))
		return nil
	}
	if cfg.Outcomes.CredentialsFile != "" {
		// Said at start rather than first at the night's run. Application
		// Default Credentials are not probed here: on a machine outside
		// Google Cloud the metadata server's probe takes seconds.
		if _, err := newOutcomeSource(ctx, cfg); err != nil {
			logger.Warn("the outcome fetch will fail until the credentials are fixed", "err", err)
		}
	}
	return jobs.add(ctx, "outcomes.schedule", cfg.Outcomes.Schedule, "outcome fetch", j.run)
}

// outcomeJob is run's daily outcome fetch.
type outcomeJob struct {
	pool    *pgxpool.Pool
	cfg     *config.Config
	logger  *slog.Logger
	metrics *outcomes.Metrics
	// report, when set, gets ga4_outbox_report_credited_ratio of the
	// settled day after each fetch (outcomes_settled.go).
	report *reconcile.Metrics
	// now is the clock. Defaults to time.Now.
	now func() time.Time
}

// run fetches once on the replica that gets the lock and logs the result
// in one line: Info when it fetched, Debug when another replica holds the
// lock. After a fetch it sets the credited ratio of the settled day.
func (j *outcomeJob) run(ctx context.Context) error {
	src, err := newOutcomeSource(ctx, j.cfg)
	if err != nil {
		return fmt.Errorf("outcome fetch: %w", err)
	}
	now := j.now
	if now == nil {
		now = time.Now
	}
	opts := outcomeOptions(j.cfg, j.logger, j.metrics)
	opts.Now = now
	sum, ran, err := outcomes.FetchLocked(ctx, j.pool, src, opts)
	if !ran && err == nil {
		j.logger.Debug("outcome fetch not run here: another replica holds the lock")
		return nil
	}
	if sum != nil && sum.Due > 0 {
		j.logger.Info("outcomes fetched", "looked_up", sum.LookedUp, "due", sum.Due, "final", sum.Final, "left", sum.Left,
			"by_outcome", sum.ByOutcome, "requests", sum.Requests, "quota_left", sum.QuotaLeft, "young", sum.Young)
	}
	if err != nil {
		return fmt.Errorf("outcome fetch: %w", err)
	}
	return j.observeSettled(ctx, now())
}
