package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"
)

// jobScheduler runs the run command's periodic jobs (nightly report,
// retention) on robfig/cron specs: standard five fields, @every, @hourly,
// CRON_TZ= prefixes. A job still running when its next tick comes is
// skipped, not doubled. The only file of cmd that knows robfig/cron (the
// poller's own safety net lives in internal/poller).
type jobScheduler struct {
	c      *cron.Cron
	logger *slog.Logger
}

func newJobScheduler(logger *slog.Logger) *jobScheduler {
	cl := cronLogger{logger}
	return &jobScheduler{
		c:      cron.New(cron.WithLogger(cl), cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl))),
		logger: logger,
	}
}

// add schedules job under name; key names the config key of spec for the
// error message.
func (s *jobScheduler) add(ctx context.Context, key, spec, name string, job func(context.Context) error) error {
	_, err := s.c.AddFunc(spec, func() {
		start := time.Now()
		if err := job(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("job failed", "job", name, "err", err)
			return
		}
		s.logger.Debug("job done", "job", name, "took", time.Since(start).Round(time.Millisecond))
	})
	if err != nil {
		return fmt.Errorf("%s: %q is not a cron spec: %w", key, spec, err)
	}
	return nil
}

func (s *jobScheduler) start() { s.c.Start() }

// stop stops scheduling and waits for running jobs until ctx ends.
func (s *jobScheduler) stop(ctx context.Context) {
	select {
	case <-s.c.Stop().Done():
	case <-ctx.Done():
		s.logger.Warn("periodic jobs still running at shutdown")
	}
}

// cronLogger adapts slog to cron.Logger; cron's chatty info goes to debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
