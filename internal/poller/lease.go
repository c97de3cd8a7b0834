package poller

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Lease is the hold a poller has on the rows of one Send call. A Sender
// reads it with LeaseFrom and starts a request only while Remaining is at
// least the request's worst case (its timeout): a request that could
// still be under way when the lease ends might be sent again by the next
// worker that claims its rows. The poller extends the lease while the
// batch is being sent, every third of Config.Lease.
type Lease struct {
	end    atomic.Int64 // Unix nanoseconds, on the poller's clock
	margin time.Duration
	now    func() time.Time
}

func newLease(end time.Time, margin time.Duration, now func() time.Time) *Lease {
	l := &Lease{margin: margin, now: now}
	l.end.Store(end.UnixNano())
	return l
}

// endsAt returns when the lease ends unless the poller extends it.
func (l *Lease) endsAt() time.Time { return time.Unix(0, l.end.Load()) }

// Remaining returns how long a request started now may take and still
// finish while the rows certainly belong to this poller: the time to the
// lease's end less a margin for recording the results (a tenth of
// Config.Lease). It is negative once that time has passed.
func (l *Lease) Remaining() time.Duration { return l.endsAt().Sub(l.now()) - l.margin }

func (l *Lease) extend(end time.Time) { l.end.Store(end.UnixNano()) }

type leaseKey struct{}

// LeaseFrom returns the lease of the rows a Send call was given, or nil
// when ctx does not come from a poller.
func LeaseFrom(ctx context.Context) *Lease {
	l, _ := ctx.Value(leaseKey{}).(*Lease)
	return l
}

// WithLease returns ctx carrying a lease that ends at end, on the
// system clock, without margin, and is never extended: for testing a
// Sender outside a poller.
func WithLease(ctx context.Context, end time.Time) context.Context {
	return withLease(ctx, newLease(end, 0, time.Now))
}

func withLease(ctx context.Context, l *Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// leaseMargin is the part of a lease kept for recording results.
func (c Config) leaseMargin() time.Duration { return c.Lease / 10 }

// keepLease extends b's lease every third of Config.Lease until the
// returned stop is called; stop waits for an extension under way. A failed
// extension is logged; the lease then ends as it was, and the Sender stops
// starting requests in time.
func (p *Poller) keepLease(b *batch) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(p.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.extendLease(b)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// extendLease moves the lease of b's rows to a full Config.Lease from now
// (one statement, fenced by the lease token).
func (p *Poller) extendLease(b *batch) {
	ctx, cancel := context.WithTimeout(context.Background(), max(p.cfg.Lease/10, time.Second))
	defer cancel()
	end := p.cfg.Now().Add(p.cfg.Lease)
	if b.ids == nil {
		b.ids = make([]int64, len(b.rows))
		for i := range b.rows {
			b.ids[i] = b.rows[i].ID
		}
	}
	tag, err := p.db.Exec(ctx, sqlExtendLease, end, b.ids, b.token)
	if err != nil {
		p.log.Warn("outbox lease not extended; unsent rows of the batch go back when it ends",
			logKeyRows, len(b.rows), logKeyError, err)
		return
	}
	if tag.RowsAffected() > 0 {
		b.lease.extend(end)
	}
	p.metrics.leaseExtended.Inc()
}
