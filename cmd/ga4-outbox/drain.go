package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

const drainUsage = `[--timeout 10m]

Delivers every pending row to GA4 and exits: for backfills, cron jobs and
benchmarks. It waits out retry backoff and other workers' leases, within
--timeout. Configuration as for run (config.yaml, DATABASE_URL,
GA4_MEASUREMENT_ID, GA4_API_SECRET, GA4_ENDPOINT, ...).

Exit codes: 0 every row delivered or skipped on purpose, 3 some rows failed
(see ga4-outbox status), 4 the timeout passed with rows still pending,
1 another error, 2 bad flags or configuration.`

// Exit codes of drain beyond 0, 1 and 2.
const (
	exitDrainFailed  = 3
	exitDrainTimeout = 4
)

func runDrain(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "drain", drainUsage)
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long; rows left pending stay for the next run")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *timeout <= 0 {
		fs.Usage()
		return usageError{fmt.Errorf("drain: takes no arguments and a positive --timeout (got %q, %s)", fs.Args(), *timeout)}
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireSending(); err != nil {
		return exitError{code: 2, err: indentJoined(fmt.Errorf("drain: %w", err))}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stats, err := drain(ctx, e.stdout, cfg, logger, *timeout)
	printDrainSummary(e.stdout, stats)
	return drainExit(ctx, stats, err)
}

func drain(ctx context.Context, w io.Writer, cfg *config.Config, logger *slog.Logger, timeout time.Duration) (poller.Stats, error) {
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return poller.Stats{}, fmt.Errorf("drain: %w", err)
	}
	defer pool.Close()
	sender, err := delivery.FromConfig(cfg, logger, nil)
	if err != nil {
		return poller.Stats{}, fmt.Errorf("drain: %w", err)
	}
	p, err := poller.New(pool, sender, pollerConfig(cfg, logger, nil))
	if err != nil {
		return poller.Stats{}, fmt.Errorf("drain: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var update func(poller.Stats)
	finish := func() {}
	stats, err := p.Drain(dctx, func(s poller.Stats) {
		if update == nil {
			update, finish = deliveryProgress(w, s.Backlog)
		}
		update(s)
	})
	finish()
	return stats, err
}

func printDrainSummary(w io.Writer, s poller.Stats) {
	var reasons []string
	for _, r := range slices.Sorted(maps.Keys(s.ByReason)) {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, s.ByReason[r]))
	}
	detail := ""
	if len(reasons) > 0 {
		detail = " (" + strings.Join(reasons, ", ") + ")"
	}
	fmt.Fprintf(w, "drained %d of %d pending rows: delivered %d, skipped %d, failed %d%s; retried %d sends\n",
		s.Delivered+s.Skipped+s.Failed, s.Backlog, s.Delivered, s.Skipped, s.Failed, detail, s.Retried)
}

func drainExit(ctx context.Context, s poller.Stats, err error) error {
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return exitError{code: exitDrainTimeout, err: fmt.Errorf("drain: timeout: %w", err)}
	case err != nil:
		return err
	case s.Failed > 0:
		return exitError{code: exitDrainFailed, err: fmt.Errorf("drain: %d rows failed (ga4-outbox status lists their errors)", s.Failed)}
	}
	return nil
}
