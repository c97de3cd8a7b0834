package delivery

import (
	"context"
	"math"
	"sync"
	"time"
)

// outcome is what one request says about the endpoint's load.
type outcome int

const (
	// outcomeNone says nothing: the request was cancelled by the caller,
	// or failed before the endpoint could answer for another reason.
	outcomeNone outcome = iota
	// outcomeOK is an answer: its latency is a sample.
	outcomeOK
	// outcomeThrottled is a 429: the endpoint asks for less.
	outcomeThrottled
	// outcomeFailed is a 5xx or a timeout: the endpoint may struggle.
	outcomeFailed
)

// limiter caps the requests in flight at a limit that follows what the
// endpoint sustains (a gradient limiter with a slow start, as TCP's
// congestion window). Every window of samples (a quarter of the limit,
// at least 8 answers) it compares the mean latency with the lowest mean
// seen (the baseline, which drifts up slowly so that an endpoint that got
// slower for good becomes the new normal):
//
//   - more than 5 % of the window answered 429, or a share of 5xx answers
//     and timeouts above twice the usual share plus 5 % (or above half):
//     the limit shrinks to three quarters (the usual share is learned, so
//     an endpoint that fails a steady fraction of requests whatever the
//     load is not starved; a surge of failures shrinks the limit);
//   - latency above twice the baseline (plus 2 ms): it shrinks by a tenth;
//   - latency within a quarter of the baseline (plus 2 ms), and the limit
//     was used (half of it in flight at some point): it doubles until the
//     first shrink, then grows by its square root;
//   - otherwise it holds.
//
// Only requests started after the last change are judged, so the limit
// moves at most about once per round trip, and one burst of errors
// shrinks it once. The limit stays
// within [min, max]. The failsafe-go adaptive limiter was tried first: it
// moves its limit at most once per second by about log10(limit), so
// reaching the few hundred requests that an endpoint 40 ms away needs took
// minutes, and it does not treat 429 or 5xx answers as a signal.
type limiter struct {
	min, max float64
	now      func() time.Time

	mu        sync.Mutex
	limit     float64
	inflight  int
	waiters   []chan struct{} // FIFO; closed when granted a permit
	slowStart bool
	baseline  time.Duration
	failShare float64 // the usual share of 5xx and timeouts, learned
	changedAt time.Time
	win       window
}

// window accumulates the samples between two adjustments.
type window struct {
	n, throttled, failed int
	sum                  time.Duration
	peak                 int // most requests in flight during the window
}

// newLimiter returns a limiter starting at initial, within [min, max].
func newLimiter(min, initial, max int, now func() time.Time) *limiter {
	initial = clampInt(initial, min, max)
	return &limiter{min: float64(min), max: float64(max), limit: float64(initial), slowStart: true, now: now}
}

// permit is one request's place under the limit.
type permit struct {
	l     *limiter
	start time.Time
}

// acquire waits for a place under the limit, or until ctx ends.
func (l *limiter) acquire(ctx context.Context) (*permit, error) {
	l.mu.Lock()
	if l.inflight < l.cap() && len(l.waiters) == 0 {
		l.take()
		l.mu.Unlock()
		return &permit{l: l, start: l.now()}, nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return &permit{l: l, start: l.now()}, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, w := range l.waiters {
		if w == ch {
			l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
			return nil, ctx.Err()
		}
	}
	// Granted while giving up: hand the place on.
	l.inflight--
	l.grant()
	return nil, ctx.Err()
}

// release gives the place back and learns from the request's outcome.
func (p *permit) release(o outcome) {
	l := p.l
	rtt := l.now().Sub(p.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if o != outcomeNone && !p.start.Before(l.changedAt) {
		l.record(rtt, o)
	}
	l.grant()
}

// Limit returns the current limit.
func (l *limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cap()
}

// InFlight returns the requests holding a place.
func (l *limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

func (l *limiter) cap() int { return int(l.limit) }

func (l *limiter) take() {
	l.inflight++
	l.win.peak = max(l.win.peak, l.inflight)
}

// grant hands free places to waiters in arrival order.
func (l *limiter) grant() {
	for len(l.waiters) > 0 && l.inflight < l.cap() {
		close(l.waiters[0])
		l.waiters = l.waiters[1:]
		l.take()
	}
}

const (
	overloadShare = 0.05
	maxFailShare  = 0.5 // failures above this share always shrink the limit
	latencySlack  = 2 * time.Millisecond
)

// record adds a sample and adjusts the limit at the end of a window.
func (l *limiter) record(rtt time.Duration, o outcome) {
	w := &l.win
	w.n++
	w.sum += rtt
	switch o {
	case outcomeThrottled:
		w.throttled++
	case outcomeFailed:
		w.failed++
	}
	if w.n < max(8, l.cap()/4) {
		return
	}
	mean := w.sum / time.Duration(w.n)
	if l.baseline == 0 || mean < l.baseline {
		l.baseline = mean
	} else {
		l.baseline += (mean - l.baseline) / 64
	}
	failed := float64(w.failed) / float64(w.n)
	surge := failed > min(2*l.failShare+overloadShare, maxFailShare)
	l.failShare += (failed - l.failShare) / 8
	switch {
	case float64(w.throttled) > overloadShare*float64(w.n) || surge:
		l.shrink(0.75)
	case mean > 2*l.baseline+latencySlack:
		l.shrink(0.9)
	case mean <= l.baseline+l.baseline/4+latencySlack && 2*w.peak >= l.cap():
		l.grow()
	default:
		l.win = window{peak: l.inflight}
		return
	}
	l.changedAt = l.now()
	l.win = window{peak: l.inflight}
}

func (l *limiter) shrink(factor float64) {
	l.limit = math.Max(l.min, math.Floor(l.limit*factor))
	l.slowStart = false
}

func (l *limiter) grow() {
	if l.slowStart {
		l.limit *= 2
	} else {
		l.limit += math.Max(1, math.Sqrt(l.limit))
	}
	l.limit = math.Min(l.max, l.limit)
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }
