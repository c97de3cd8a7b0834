package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// nightlyLockKey is the advisory lock that keeps the nightly report to one
// replica at a time.
const nightlyLockKey = 7420511

// nightlyReport writes the report for the 24 h before now (truncated to the
// minute) in every reconcile.formats format to reconcile.output_dir, named
// ga4-outbox-report-<until>.<ext>. Another replica holding the lock means
// it already runs: this one does nothing.
func nightlyReport(ctx context.Context, pool *pgxpool.Pool, cfg *config.Config, logger *slog.Logger, now time.Time) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("nightly report: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, nightlyLockKey).Scan(&locked); err != nil {
		return fmt.Errorf("nightly report: lock: %w", err)
	}
	if !locked {
		logger.Info("nightly report runs on another replica")
		return nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, nightlyLockKey)
	opts := reportOptions(cfg)
	opts.Until = now.UTC().Truncate(time.Minute)
	opts.Since = opts.Until.Add(-24 * time.Hour)
	r, err := reconcile.Build(ctx, conn, opts)
	if err != nil {
		return fmt.Errorf("nightly report: %w", err)
	}
	if err := os.MkdirAll(cfg.Reconcile.OutputDir, 0o755); err != nil {
		return fmt.Errorf("nightly report: %w", err)
	}
	var files []string
	for _, format := range cfg.Reconcile.Formats {
		name := filepath.Join(cfg.Reconcile.OutputDir, fmt.Sprintf("ga4-outbox-report-%s.%s",
			opts.Until.Format("20060102T1504Z"), reconcile.Extension(format)))
		if err := writeReport(nil, name, format, r); err != nil {
			return fmt.Errorf("nightly report: %w", err)
		}
		files = append(files, name)
	}
	attrs := []any{"since", opts.Since, "until", opts.Until, "files", files}
	if share, currency, ok := r.MinShare(); ok {
		attrs = append(attrs, "min_attributable_share", share, "currency", currency)
	}
	logger.Info("nightly report written", attrs...)
	return nil
}
