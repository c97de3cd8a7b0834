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

// retrySelection is what retry's flags select; nil fields match all.
type retrySelection struct {
	includeFailed  bool
	skippedReason  string
	ids            []int64
	transactionIDs []string
	reason         *string
	since, until   *time.Time
}

func (s *retrySelection) args() []any {
	return []any{s.includeFailed, s.skippedReason, s.ids, s.transactionIDs, s.reason, s.since, s.until}
}

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
	sel, err := buildSelection(fs, ids, txIDs, *reason, *since, *until, *skipped, *all, time.Now())
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
	var failed, skippedN int64
	if *dryRun {
		err = pool.QueryRow(ctx, sqlRetryCount, sel.args()...).Scan(&failed, &skippedN)
	} else {
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, sqlRetry, append(sel.args(), time.Now())...).Scan(&failed, &skippedN); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sqlNotify)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("retry: %w", explainMissingSchema(err))
	}
	verb := "put back to pending"
	if *dryRun {
		verb = "would be put back to pending (dry run)"
	}
	fmt.Fprintf(e.stdout, "%d rows %s: %d failed, %d skipped\n", failed+skippedN, verb, failed, skippedN)
	return nil
}

func buildSelection(fs *flag.FlagSet, ids, txIDs listFlag, reason, since, until, skipped string, all bool, now time.Time) (*retrySelection, error) {
	sel := &retrySelection{skippedReason: skipped}
	var err error
	if sel.ids, err = parseIDs(ids); err != nil {
		return nil, err
	}
	if len(txIDs) > 0 {
		sel.transactionIDs = txIDs
	}
	if reason != "" {
		if !slices.Contains(failedReasons, reason) {
			return nil, fmt.Errorf("--reason %q: must be one of %s (for skipped rows use --skipped-reason)", reason, strings.Join(failedReasons, ", "))
		}
		sel.reason = &reason
	}
	if skipped != "" && !slices.Contains(skippedReasons, skipped) {
		return nil, fmt.Errorf("--skipped-reason %q: must be one of %s", skipped, strings.Join(skippedReasons, ", "))
	}
	if sel.since, err = parseWhen("--since", since, now); err != nil {
		return nil, err
	}
	if sel.until, err = parseWhen("--until", until, now); err != nil {
		return nil, err
	}
	if sel.since != nil && sel.until != nil && !sel.since.Before(*sel.until) {
		return nil, errors.New("--since must be before --until")
	}
	narrowed := sel.ids != nil || sel.transactionIDs != nil || sel.reason != nil || sel.since != nil || sel.until != nil
	if !narrowed && !all && skipped == "" {
		fs.Usage()
		return nil, errors.New("no rows selected: give --id, --transaction-id, --reason, --since/--until or --skipped-reason, or --all for every failed row")
	}
	sel.includeFailed = narrowed || all
	return sel, nil
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

// parseWhen reads an RFC 3339 time, a UTC date or an age ("36h" ago).
func parseWhen(name, s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		t := now.Add(-d)
		return &t, nil
	}
	return nil, fmt.Errorf("%s %q: must be RFC 3339 (2026-03-14T09:00:00Z), a date (2026-03-14) or an age (36h)", name, s)
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
