package poller

import (
	"context"
	"sync"
	"time"
)

// Run delivers rows until ctx is cancelled. It wakes on NOTIFY (unless
// DisableListen), on the Schedule, when a retry falls due and right after
// a full batch. On cancel it stops claiming, lets in-flight sends finish
// within ShutdownGrace, marks their results and returns nil. Rows whose
// results could not be marked are claimable again when their lease expires.
func (p *Poller) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	bg, stopBg := context.WithCancel(ctx)
	var bgWG sync.WaitGroup
	defer func() { stopBg(); bgWG.Wait() }()
	bgWG.Go(func() { every(bg, p.sched, poke) })
	bgWG.Go(func() { p.compactLoop(bg) })
	if !p.cfg.DisableListen {
		// A notified row may sort before the claim cursor.
		bgWG.Go(func() { p.listen(bg, func() { p.cursor.notify(); poke() }) })
	}
	retry := newRetryTimer(poke)
	defer retry.stop()

	e := p.newEngine(ctx)
	e.onRetry = retry.after
	var g *gate
	if !p.cfg.DisableListen {
		g = newGate(p.db, p.log, poke)
		defer g.close(ctx)
	}
	p.loop(ctx, e, wake, g)
	e.stop(p.cfg.ShutdownGrace)
	return nil
}

func (p *Poller) loop(ctx context.Context, e *engine, wake <-chan struct{}, g *gate) {
	errDelay := 100 * time.Millisecond
	more := true
	for {
		if !more && !p.idle(ctx, g, wake) {
			return
		}
		n, err := e.dispatch(ctx)
		if n > 0 && g != nil {
			g.claimed(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.log.Warn("outbox claim failed; retrying", logKeyError, err, logKeyBackoff, errDelay)
			if !sleep(ctx, errDelay) {
				return
			}
			errDelay = min(2*errDelay, 10*time.Second)
			more = true
			continue
		}
		errDelay = 100 * time.Millisecond
		more = n == p.cfg.BatchSize
	}
}

// idle returns when the poller should claim again, false when ctx is done.
// Without a gate (LISTEN off) it waits for a wake-up. After a claim that
// found rows it claims again after gateBusyPoll (2 ms), so a steady trickle
// is collected in small batches without arming. Otherwise it first
// arms the gate and claims once more (enqueues committed before that did
// not notify); armed, it waits for a wake-up and disarms. While an
// enqueueing transaction keeps the gate from arming, it claims again after
// a short delay (1 ms doubling to 4 ms); when another poller holds the
// gate, notifications wake this one too, and it looks again after 100 ms
// doubling to 1 s (that poller may be gone). When arming fails (the
// database is unreachable), it claims again after 100 ms doubling to 10 s.
func (p *Poller) idle(ctx context.Context, g *gate, wake <-chan struct{}) bool {
	if g == nil {
		return waitWake(ctx, wake)
	}
	if g.busy { // the last claim found rows: more are likely, claim again soon
		g.busy = false
		waitWakeFor(ctx, wake, gateBusyPoll)
		return ctx.Err() == nil
	}
	if !g.armed {
		return p.arm(ctx, g, wake)
	}
	if !waitWake(ctx, wake) {
		return false // Run closes the gate's session, and with it the lock
	}
	g.disarm(ctx)
	return true
}

// arm arms the gate and returns at once to claim once more; when it cannot,
// it waits as idle describes.
func (p *Poller) arm(ctx context.Context, g *gate, wake <-chan struct{}) bool {
	res, err := g.arm(ctx)
	var d time.Duration
	switch {
	case ctx.Err() != nil:
		return false
	case err != nil: // nothing notifies while no poller holds the gate: look again soon
		d = grow(&g.retry, gateRetryMin, gateRetryMax)
		p.log.Warn("outbox: notify gate unavailable; claiming again after a delay", logKeyError, err, logKeyBackoff, d)
	case res == gateOtherPoller: // its notifications wake this poller too, while it lives
		d = grow(&g.retry, gateRetryMin, gateOtherMax)
	case res == gateBusyWriter:
		d = grow(&g.poll, gatePollMin, gatePollMax)
	default: // armed
		return true
	}
	waitWakeFor(ctx, wake, d)
	return ctx.Err() == nil
}

// waitWake waits for a wake-up; false when ctx is done first.
func waitWake(ctx context.Context, wake <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	}
}

// waitWakeFor waits for a wake-up or d, whichever comes first.
func waitWakeFor(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryTimer wakes the poller when the earliest known retry falls due.
type retryTimer struct {
	mu    sync.Mutex
	poke  func()
	timer *time.Timer
	due   time.Time
}

func newRetryTimer(poke func()) *retryTimer { return &retryTimer{poke: poke} }

func (r *retryTimer) after(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	t := now.Add(d)
	if r.timer != nil && r.due.After(now) && !t.Before(r.due) {
		return // an earlier wake-up is already set
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	r.due = t
	r.timer = time.AfterFunc(d, r.poke)
}

func (r *retryTimer) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
}
