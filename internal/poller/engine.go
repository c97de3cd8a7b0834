package poller

import (
	"context"
	"sync"
	"time"
)

// claimTimeout bounds one claim statement.
const claimTimeout = 30 * time.Second

// engine pipelines batches: up to InFlightBatches claimed batches are being
// sent while the next one is claimed.
type engine struct {
	p          *Poller
	slots      chan struct{}
	wg         sync.WaitGroup
	sendCtx    context.Context
	cancelSend context.CancelFunc
	onRetry    func(in time.Duration) // nil: ignore
}

func (p *Poller) newEngine(ctx context.Context) *engine {
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &engine{p: p, slots: make(chan struct{}, p.cfg.InFlightBatches), sendCtx: sendCtx, cancelSend: cancel}
}

// dispatch waits for a free slot, claims one batch and starts sending it.
// It returns the number of rows claimed.
func (e *engine) dispatch(ctx context.Context) (int, error) {
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if ctx.Err() != nil {
		<-e.slots
		return 0, ctx.Err()
	}
	// A claim that started completes even if ctx ends meanwhile, so its
	// rows are sent (within the grace) instead of waiting out their lease.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	b, err := e.p.claim(cctx)
	cancel()
	if err != nil || len(b.rows) == 0 {
		e.p.release(b)
		<-e.slots
		return 0, err
	}
	n := len(b.rows)
	e.p.inflight.add(b)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() { <-e.slots }()
		stop := e.p.keepLease(b)
		in := e.p.process(e.sendCtx, b, stop)
		e.p.inflight.remove(b)
		e.p.release(b)
		if in > 0 && e.onRetry != nil {
			e.onRetry(in)
		}
	}()
	return n, nil
}

// wait returns when no batch is in flight.
func (e *engine) wait() { e.wg.Wait() }

// stop lets in-flight batches finish within grace, then cancels their
// sends; their results are marked either way. It returns when all are done.
func (e *engine) stop(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(max(grace, 0))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		e.cancelSend()
		<-done
	}
	e.cancelSend()
}
