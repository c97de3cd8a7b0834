package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

const retryUsage = `[selectors] [--skipped-reason R] [--dry-run]

Puts failed rows (and, with --skipped-reason, skipped rows with that reason)
back to pending, due now, with a fresh attempt budget. last_error is kept.
Running pollers are woken with a NOTIFY. At least one selector is required;
--all selects every failed row. --skipped-reason alone selects only the
skipped rows with that reason.

Times (--since, --until) compare with occurred_at (the business time) and
take RFC 3339 (2026-03-14T09:00:00Z), a date (2026-03-14, UTC) or an age
(36h: that long ago).`

// failedReasons and skippedReasons are the reasons retry accepts.
var (
	failedReasons  = []string{outbox.ReasonRejected, outbox.ReasonMaxAttempts}
	skippedReasons = []string{outbox.ReasonConsentDenied, outbox.ReasonInvalid, outbox.ReasonExpired,
		outbox.ReasonMissingClientID, outbox.ReasonUnknownProperty}
)

func runRetry(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "retry", retryUsage)
	var ids, txIDs listFlag
	fs.Var(&ids, "id", "row id (repeat or comma-separate)")
	fs.Var(&txIDs, "transaction-id", "transaction id (repeat or comma-separate)")
	reason := fs.String("reason", "", "failed rows with this reason: "+strings.Join(failedReasons, ", "))
	since := fs.String("since", "", "rows that occurred at or after this time")
	until := fs.String("until", "", "rows that occurred before this time")
	skipped := fs.String("skipped-reason", "", "also skipped rows with this reason: "+strings.Join(skippedReasons, ", "))
	all := fs.Bool("all", false, "select every failed row (with the other selectors: no effect)")
	dryRun := fs.Bool("dry-run", false, "print how many rows would be retried, change nothing")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	filter, err := buildFilter(fs, ids, txIDs, *reason, *since, *until, *skipped, *all, time.Now())
	if err != nil {
		return usageError{fmt.Errorf("retry: %w", err)}
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, 2)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	defer pool.Close()
	filter.DryRun = *dryRun
	var res poller.RequeueResult
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) (err error) {
		res, err = poller.Requeue(ctx, tx, time.Now(), filter)
		return err
	})
	if err != nil {
		return fmt.Errorf("retry: %w", explainMissingSchema(err))
	}
	verb := "put back to pending"
	if *dryRun {
		verb = "would be put back to pending (dry run)"
	}
	fmt.Fprintf(e.stdout, "%d rows %s: %d failed, %d skipped\n", res.Total(), verb, res.Failed, res.Skipped)
	return nil
}

// buildFilter turns retry's flags into a poller.RequeueFilter, refusing
// bad values and an empty selection with messages that name the flags.
func buildFilter(fs *flag.FlagSet, ids, txIDs listFlag, reason, since, until, skipped string, all bool, now time.Time) (poller.RequeueFilter, error) {
	f := poller.RequeueFilter{TransactionIDs: txIDs, Reason: reason, SkippedReason: skipped, All: all}
	var err error
	if f.IDs, err = parseIDs(ids); err != nil {
		return f, err
	}
	if reason != "" && !slices.Contains(failedReasons, reason) {
		return f, fmt.Errorf("--reason %q: must be one of %s (for skipped rows use --skipped-reason)", reason, strings.Join(failedReasons, ", "))
	}
	if skipped != "" && !slices.Contains(skippedReasons, skipped) {
		return f, fmt.Errorf("--skipped-reason %q: must be one of %s", skipped, strings.Join(skippedReasons, ", "))
	}
	if f.Since, err = parseWhen("--since", since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen("--until", until, now); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, errors.New("--since must be before --until")
	}
	narrowed := len(f.IDs) > 0 || len(f.TransactionIDs) > 0 || reason != "" || !f.Since.IsZero() || !f.Until.IsZero()
	if !narrowed && !all && skipped == "" {
		fs.Usage()
		return f, errors.New("no rows selected: give --id, --transaction-id, --reason, --since/--until or --skipped-reason, or --all for every failed row")
	}
	return f, nil
}

func parseIDs(raw []string) ([]int64, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(raw))
	for _, s := range raw {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("--id %q: must be a positive row id", s)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// parseWhen reads an RFC 3339 time, a UTC date or an age ("36h" ago); the
// empty string is the zero time (unbounded).
func parseWhen(name, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: must be RFC 3339 (2026-03-14T09:00:00Z), a date (2026-03-14) or an age (36h)", name, s)
}

// listFlag collects a repeatable, comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
