package poller

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Drain delivers until no row is pending and returns what it did: for
// backfills, cron jobs and benchmarks. It waits out backoff and other
// workers' leases. When ctx ends first it stops like Run (in-flight sends
// get ShutdownGrace, results are marked) and returns the stats with an
// error that says how many rows are still pending. progress, when not nil,
// is called after each marked batch with the counts so far.
func (p *Poller) Drain(ctx context.Context, progress func(Stats)) (Stats, error) {
	backlog, err := p.pendingCount(ctx)
	if err != nil {
		return Stats{}, err
	}
	base := p.snapshot()
	p.mu.Lock()
	if progress != nil {
		p.progress = func(s Stats) { s = s.since(base); s.Backlog = backlog; progress(s) }
	}
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.progress = nil; p.mu.Unlock() }()
	stats := func() Stats { s := p.snapshot().since(base); s.Backlog = backlog; return s }

	e := p.newEngine(ctx)
	err = p.drainLoop(ctx, e)
	e.stop(p.cfg.ShutdownGrace)
	if err == nil {
		return stats(), nil
	}
	left, cerr := p.pendingCount(context.WithoutCancel(ctx))
	if cerr != nil {
		return stats(), fmt.Errorf("drain outbox: %w", err)
	}
	return stats(), fmt.Errorf("drain outbox: %d rows still pending: %w", left, err)
}

func (p *Poller) drainLoop(ctx context.Context, e *engine) error {
	for {
		n, err := e.dispatch(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		e.wait()
		count, next, leased, err := p.pending(ctx)
		if err != nil {
			return err
		}
		if count == 0 {
			return nil
		}
		d := next.Sub(p.cfg.Now())
		if leased > 0 {
			d = min(d, drainLeasePoll) // other workers' batches finish any moment
		}
		p.log.Debug("outbox drain waits for backoff or leases", logKeyPending, count, logKeyBackoff, d)
		if !sleep(ctx, max(d, time.Millisecond)) {
			return ctx.Err()
		}
	}
}

// drainLeasePoll is how often Drain looks again while rows are leased to
// other workers (their results are not signalled).
const drainLeasePoll = 50 * time.Millisecond

// pending counts pending rows, returns the earliest next_attempt_at of the
// rows no worker holds (far future when none) and counts leased rows.
func (p *Poller) pending(ctx context.Context) (n int64, next time.Time, leased int64, err error) {
	var inf pgtype.Timestamptz
	if err := p.db.QueryRow(ctx, sqlPending).Scan(&n, &inf, &leased); err != nil {
		return 0, time.Time{}, 0, fmt.Errorf("count pending outbox rows: %w", err)
	}
	next = p.cfg.Now().Add(time.Hour)
	if inf.Valid && inf.InfinityModifier == pgtype.Finite {
		next = inf.Time
	}
	return n, next, leased, nil
}

func (p *Poller) pendingCount(ctx context.Context) (int64, error) {
	n, _, _, err := p.pending(ctx)
	return n, err
}
