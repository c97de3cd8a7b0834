package poller

import (
	"context"
	"fmt"
	"time"
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
		p.compact(ctx) // drain from cron may be the only sidecar that runs
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
		count, d, err := p.drainWait(ctx)
		if err != nil {
			return err
		}
		if count == 0 {
			return nil
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

// drainWait counts the pending rows and says how long Drain waits before
// it claims again: until the first backoff ends, and at most
// drainLeasePoll while rows are leased to other workers (their results
// are not signalled) or due but held by another claim. The count is exact
// (rowCounts), so Drain never stops with a row pending in its snapshot.
func (p *Poller) drainWait(ctx context.Context) (pending int64, d time.Duration, err error) {
	c, err := readCounts(ctx, p.db)
	if err != nil || c.Pending == 0 {
		return c.Pending, 0, err
	}
	now := p.cfg.Now()
	backoff, next, err := backingOff(ctx, p.db, now)
	if err != nil {
		return 0, 0, err
	}
	d = time.Hour
	if !next.IsZero() {
		d = next.Sub(now)
	}
	if c.Leased > 0 || c.Pending > c.Leased+backoff {
		d = min(d, drainLeasePoll)
	}
	return c.Pending, d, nil
}

func (p *Poller) pendingCount(ctx context.Context) (int64, error) {
	c, err := readCounts(ctx, p.db)
	return c.Pending, err
}
