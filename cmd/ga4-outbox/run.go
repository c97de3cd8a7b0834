package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

const runUsage = `[--log-format json|text] [--log-level debug|info|warn|error]

Runs the sidecar until SIGTERM or SIGINT: the poller (woken by NOTIFY and by
poller.schedule), the retention job (retention.schedule), the nightly report
(reconcile.schedule, one replica at a time), the outcome fetch from the GA4
Data API (outcomes.schedule, one replica at a time, when a property id is
set) and /metrics, /healthz, /readyz on metrics.addr. Needs
ga4.measurement_id and the API secret (GA4_API_SECRET or
ga4.api_secret_file).`

func runRun(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "run", runUsage)
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, *logFormat, *logLevel)
	if err != nil {
		return usageError{fmt.Errorf("run: %w", err)}
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireSending(); err != nil {
		return exitError{code: 2, err: indentJoined(fmt.Errorf("run: %w", err))}
	}
	return runSidecar(ctx, cfg, logger)
}

// newLogger returns the structured logger of the run command.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: must be debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		opts.ReplaceAttr = durationText
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: must be json or text", format)
}

// durationText writes durations as text ("1.5s"): JSON logs otherwise
// carry them as integer nanoseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// runSidecar wires the sidecar and blocks until ctx is cancelled.
func runSidecar(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer pool.Close()
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = schemaReady(pool)(startCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	reg := newMetricsRegistry()
	reportMetrics := reconcile.NewMetrics()
	reg.MustRegister(reportMetrics.Collectors()...)
	p, err := newRunPoller(pool, cfg, logger, reg)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	var health *healthServer
	if cfg.Metrics.Addr != "off" {
		if health, err = startHealthServer(cfg.Metrics.Addr, reg, schemaReady(pool), logger); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	jobs, err := scheduleJobs(ctx, p, newNightly(pool, cfg, reportMetrics), cfg, logger)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	outcomeMetrics := outcomes.NewMetrics()
	reg.MustRegister(outcomeMetrics.Collectors()...)
	job := &outcomeJob{pool: pool, cfg: cfg, logger: logger, metrics: outcomeMetrics, report: reportMetrics}
	if err := scheduleOutcomes(ctx, jobs, job); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	logger.Info("sidecar started", "measurement_id", cfg.GA4.MeasurementID, "listen", cfg.Poller.ListenEnabled(),
		"poller_schedule", cfg.Poller.Schedule)
	runErr := p.Run(ctx)
	return shutdownSidecar(cfg, logger, jobs, health, runErr)
}

// shutdownSidecar stops the periodic jobs and the metrics server within
// poller.shutdown_grace after the poller has returned.
func shutdownSidecar(cfg *config.Config, logger *slog.Logger, jobs *jobScheduler, health *healthServer, runErr error) error {
	grace, cancel := context.WithTimeout(context.Background(), max(cfg.Poller.ShutdownGrace.D(), time.Second))
	defer cancel()
	jobs.stop(grace)
	var err error
	if health != nil {
		err = health.shutdown(grace)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("run: %w", runErr)
	}
	if err != nil {
		return fmt.Errorf("run: stop metrics server: %w", err)
	}
	logger.Info("sidecar stopped")
	return nil
}

// newRunPoller builds the poller from config.yaml.
func newRunPoller(pool *pgxpool.Pool, cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) (*poller.Poller, error) {
	sender, err := delivery.FromConfig(cfg, logger, reg)
	if err != nil {
		return nil, err
	}
	return poller.New(pool, sender, pollerConfig(cfg, logger, reg))
}

// pollerConfig maps the poller and retention sections of config.yaml.
func pollerConfig(cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) *poller.Config {
	p := cfg.Poller
	return &poller.Config{
		BatchSize:       p.BatchSize,
		InFlightBatches: p.InFlightBatches,
		Lease:           p.Lease.D(),
		MaxAttempts:     p.MaxAttempts,
		BackoffInitial:  p.BackoffInitial.D(),
		BackoffMax:      p.BackoffMax.D(),
		Schedule:        p.Schedule,
		DisableListen:   !p.ListenEnabled(),
		MissingClientID: p.MissingClientID,
		UnknownConsent:  p.UnknownConsent,
		ShutdownGrace:   p.ShutdownGrace.D(),
		Logger:          logger,
		Registerer:      reg,
		Retention: poller.RetentionConfig{
			DeliveredAfter: cfg.Retention.DeliveredAfter.D(),
			SkippedAfter:   cfg.Retention.SkippedAfter.D(),
			BatchSize:      cfg.Retention.BatchSize,
		},
	}
}

// scheduleJobs starts the retention job and the nightly report.
func scheduleJobs(ctx context.Context, p *poller.Poller, nightly *reconcile.Nightly, cfg *config.Config, logger *slog.Logger) (*jobScheduler, error) {
	jobs := newJobScheduler(logger)
	// Retain logs the rows it deleted itself; the scheduler logs a failure.
	err := jobs.add(ctx, "retention.schedule", cfg.Retention.Schedule, "retention", func(ctx context.Context) error {
		_, err := p.Retain(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cfg.Reconcile.Schedule != "off" {
		err = jobs.add(ctx, "reconcile.schedule", cfg.Reconcile.Schedule, "nightly report", func(ctx context.Context) error {
			return runNightly(ctx, nightly, logger, time.Now())
		})
		if err != nil {
			return nil, err
		}
	}
	jobs.start()
	return jobs, nil
}
