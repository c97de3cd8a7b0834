package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// newNightly builds the nightly report job from config.yaml: the previous
// day's report in every reconcile.formats format, written to
// reconcile.output_dir, with a row in ga4_outbox.reconcile_runs. With
// several replicas exactly one writes it (reconcile.Nightly holds an
// advisory lock); metrics gets the last run's attributable share and
// revenue at risk.
func newNightly(pool *pgxpool.Pool, cfg *config.Config, metrics *reconcile.Metrics) *reconcile.Nightly {
	return &reconcile.Nightly{
		DB:      pool,
		Dir:     cfg.Reconcile.OutputDir,
		Formats: cfg.Reconcile.Formats,
		Options: reportOptions(cfg),
		Metrics: metrics,
	}
}

// runNightly runs the job once and logs what it did, in one line: Info
// when this replica wrote the report, Debug when it had nothing to do
// (another replica holds the lock, or the day is done). reconcile.Nightly
// itself logs nothing, so the line is not doubled.
func runNightly(ctx context.Context, n *reconcile.Nightly, logger *slog.Logger, now time.Time) error {
	res, err := n.Run(ctx, now)
	if err != nil {
		return fmt.Errorf("nightly report: %w", err)
	}
	if !res.Ran {
		logger.Debug("nightly report not written here", "skipped", res.Skipped, "since", res.Since, "until", res.Until)
		return nil
	}
	attrs := []any{"run_id", res.RunID, "since", res.Since, "until", res.Until, "files", res.Files}
	if share, currency, ok := res.Report.MinShare(); ok {
		attrs = append(attrs, "min_attributable_share", share, "currency", currency)
	}
	logger.Info("nightly report written", attrs...)
	return nil
}
