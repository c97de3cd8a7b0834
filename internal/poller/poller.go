package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// markTimeout bounds the statement that records a batch's results; it runs
// even after shutdown began.
const markTimeout = 30 * time.Second

// Poller claims pending rows, sends them through a Sender and marks the
// results. Run it as a long-running loop (Run) or until the outbox is empty
// (Drain). Several pollers, in one process or many, may share a database:
// SKIP LOCKED and leases keep each row with one worker at a time.
type Poller struct {
	db      *pgxpool.Pool
	sender  Sender
	cfg     Config
	sched   cron.Schedule
	log     *slog.Logger
	metrics *metrics

	warner   batchWarner
	mu       sync.Mutex
	stats    Stats
	progress func(Stats) // Drain's, nil otherwise

	// cursor is where the next claim starts reading the claim indexes
	// (cursor.go); keyBuf holds the claimed keys for it. Only the claiming
	// goroutine uses keyBuf.
	cursor cursor
	keyBuf []claimedKey
	// inflight holds the batches being sent, which putOffRewind tells
	// from other workers' leases (behind.go).
	inflight inflight

	// rowBufs holds *[]Row of capacity BatchSize for claims to reuse, so
	// that a claim allocates no row slice, even one that finds a single
	// row (a trickle claims hundreds of times a second).
	rowBufs sync.Pool
}

// Stats counts what a poller did. Drain returns the counts of its own run.
type Stats struct {
	// Backlog is the number of pending rows when Drain started.
	Backlog int64
	// Claimed counts claimed rows; each outcome below counts once per row.
	Claimed, Delivered, Retried, Failed, Skipped int64
	// LeaseLost counts rows whose results could not be recorded because
	// another worker claimed them after this worker's lease expired.
	LeaseLost int64
	// ByReason counts failed and skipped rows by reason.
	ByReason map[string]int64
}

// New returns a poller that claims from db and sends with sender. cfg may
// be nil (defaults). It registers its metrics on cfg.Registerer.
func New(db *pgxpool.Pool, sender Sender, cfg *Config) (*Poller, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if db == nil || sender == nil {
		return nil, errors.New("outbox: New needs a database pool and a Sender")
	}
	sched, _ := parseSchedule(c.Schedule) // validated above
	p := &Poller{db: db, sender: sender, cfg: c, sched: sched, log: c.Logger,
		stats: Stats{ByReason: map[string]int64{}}}
	if p.metrics, err = newMetrics(db, c.Registerer, c.Now); err != nil {
		return nil, fmt.Errorf("register outbox metrics: %w", err)
	}
	return p, nil
}

// snapshot returns what the poller did since New.
func (p *Poller) snapshot() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats.clone()
}

// process gates, sends and marks one claimed batch. sendCtx bounds the
// sending only: the results are marked even when it is cancelled.
// stopLease ends the lease's extensions; it is called before the mark, so
// that the two never update the same rows at once.
func (p *Poller) process(sendCtx context.Context, b *batch, stopLease func()) (retryIn time.Duration) {
	now := p.cfg.Now()
	results := make([]Result, len(b.rows))
	idx := make([]int, 0, len(b.rows))
	for i := range b.rows {
		if res, stop := p.gate(&b.rows[i], now); stop {
			results[i] = res
			continue
		}
		idx = append(idx, i)
	}
	send := b.rows // the usual case: every row is sent
	if len(idx) < len(b.rows) {
		send = make([]Row, len(idx))
		for j, i := range idx {
			send[j] = b.rows[i]
		}
	}
	if len(send) > 0 {
		start := time.Now()
		out := p.sender.Send(withLease(sendCtx, b.lease), send)
		p.metrics.sendDuration.Observe(time.Since(start).Seconds())
		// Sends cut short by shutdown are released for the next worker at
		// once, without backoff and without using up the last attempt.
		b.released = sendCtx.Err() != nil
		for j, i := range idx {
			results[i] = p.settle(&b.rows[i], resultAt(out, j), b.released)
		}
	}
	stopLease()
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(sendCtx), markTimeout)
	defer cancel()
	marked, err := p.mark(markCtx, b, results)
	if err != nil {
		p.log.Error("outbox batch not marked; its rows are retried when the lease expires",
			logKeyRows, len(b.rows), logKeyError, err)
		return 0
	}
	now = p.cfg.Now()
	p.record(b, results, marked, now)
	p.warnBatch(results, marked, now)
	return p.earliestRetry(results)
}

// gate decides, before sending, what must not be sent. It may set a
// generated client id on r.
func (p *Poller) gate(r *Row, now time.Time) (Result, bool) {
	switch {
	case r.AnalyticsStorage == outbox.ConsentDenied:
		return Skip(outbox.ReasonConsentDenied, "analytics_storage denied"), true
	case r.AnalyticsStorage == "" && p.cfg.UnknownConsent == unknownConsentDeny:
		return Skip(outbox.ReasonConsentDenied, "analytics_storage unknown, treated as denied (unknown_consent: deny)"), true
	case r.Attempt > p.cfg.MaxAttempts:
		return Fail(outbox.ReasonMaxAttempts, fmt.Errorf("claimed %d times (max %d) without a recorded result", r.Attempt, p.cfg.MaxAttempts)), true
	case now.Sub(r.eventTime()) > maxEventAge:
		// One text for every expired row, so that the report's top errors
		// group them; the row's own times are in its columns.
		return Skip(outbox.ReasonExpired, "event time more than 72h before the send (GA moves or drops such events)"), true
	case r.ClientID == "" && p.cfg.MissingClientID == missingClientIDSkip:
		return Skip(outbox.ReasonMissingClientID, "no client_id"), true
	case r.ClientID == "":
		r.ClientID, r.GeneratedClientID = generatedClientID(r), true
	}
	return Result{}, false
}

// generatedClientID derives a stable GA-shaped client id ("<n>.<unix>")
// from the row, so a retried row keeps it.
func generatedClientID(r *Row) string {
	return strconv.FormatInt(1_000_000_000+r.ID, 10) + "." + strconv.FormatInt(r.CreatedAt.Unix(), 10)
}

func resultAt(out []Result, j int) Result {
	if j >= len(out) {
		return Retry(fmt.Errorf("sender returned %d results for more rows", len(out)), 0)
	}
	return out[j]
}

// settle applies the attempt limit and fills what the schema requires.
func (p *Poller) settle(r *Row, res Result, released bool) Result {
	switch res.Status {
	case outbox.StatusDelivered:
		if r.GeneratedClientID {
			res.Reason = outbox.ReasonGeneratedClientID
		}
	case outbox.StatusPending:
		res.Reason = ""
		if r.Attempt >= p.cfg.MaxAttempts && !released && !res.Unsent {
			res.Status, res.Reason = outbox.StatusFailed, outbox.ReasonMaxAttempts
		}
	case outbox.StatusFailed:
		if res.Reason == "" {
			res.Reason = outbox.ReasonRejected
		}
	case outbox.StatusSkipped:
		if res.Reason == "" {
			res.Reason = outbox.ReasonInvalid
		}
	default:
		return Retry(fmt.Errorf("sender returned status %q", res.Status), 0)
	}
	return res
}

// retryDelay is the backoff before attempt+1: BackoffInitial doubled per
// attempt, capped at BackoffMax, jittered to between half and all of it; a
// longer Retry-After wins.
func (p *Poller) retryDelay(attempt int, retryAfter time.Duration) time.Duration {
	d := p.cfg.BackoffInitial
	for i := 1; i < attempt && d < p.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.BackoffMax)
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

// earliestRetry returns the shortest delay before a retried row of the
// batch can fall due (0 when none was retried): a hint for waking up; the
// exact times were drawn in mark.
func (p *Poller) earliestRetry(results []Result) time.Duration {
	var d time.Duration
	for i := range results {
		if results[i].Status != outbox.StatusPending {
			continue
		}
		if t := max(p.cfg.BackoffInitial/2, results[i].RetryAfter); d == 0 || t < d {
			d = t
		}
	}
	return d
}

func (p *Poller) record(b *batch, results []Result, marked []bool, now time.Time) {
	p.metrics.batchSize.Observe(float64(len(b.rows)))
	p.mu.Lock()
	s := &p.stats
	s.Claimed += int64(len(b.rows))
	lost := 0
	for i := range results {
		if !marked[i] { // another worker holds the row: its outcome counts there
			lost++
			continue
		}
		res := &results[i]
		switch res.Status {
		case outbox.StatusDelivered:
			s.Delivered++
			p.metrics.delivered.Inc()
			p.metrics.lag.Observe(now.Sub(b.rows[i].eventTime()).Seconds())
		case outbox.StatusPending:
			s.Retried++
			p.metrics.retried.Inc()
		case outbox.StatusFailed:
			s.Failed++
			s.ByReason[res.Reason]++
			p.metrics.failed.WithLabelValues(res.Reason).Inc()
		case outbox.StatusSkipped:
			s.Skipped++
			s.ByReason[res.Reason]++
			p.metrics.skipped.WithLabelValues(res.Reason).Inc()
		}
	}
	s.LeaseLost += int64(lost)
	p.metrics.leaseLost.Add(float64(lost))
	progress, snapshot := p.progress, Stats{}
	if progress != nil {
		snapshot = p.stats.clone()
	}
	p.mu.Unlock()
	if progress != nil {
		progress(snapshot)
	}
	p.log.Debug("outbox batch marked", logKeyRows, len(b.rows), logKeyLeaseLost, lost)
}

func (s Stats) clone() Stats {
	c := s
	c.ByReason = make(map[string]int64, len(s.ByReason))
	for k, v := range s.ByReason {
		c.ByReason[k] = v
	}
	return c
}

// since returns s minus an earlier snapshot.
func (s Stats) since(base Stats) Stats {
	d := Stats{Backlog: s.Backlog, Claimed: s.Claimed - base.Claimed, Delivered: s.Delivered - base.Delivered,
		Retried: s.Retried - base.Retried, Failed: s.Failed - base.Failed, Skipped: s.Skipped - base.Skipped,
		LeaseLost: s.LeaseLost - base.LeaseLost, ByReason: map[string]int64{}}
	for k, v := range s.ByReason {
		if n := v - base.ByReason[k]; n != 0 {
			d.ByReason[k] = n
		}
	}
	return d
}
