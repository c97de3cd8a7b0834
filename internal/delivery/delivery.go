// Package delivery adapts the ga4 client to poller.Sender: it builds one
// Measurement Protocol event per claimed row (ga4.BuildEvent), skips rows
// that fail validation or name an unknown GA4 property, groups the rest
// into requests of up to 25 events per client (ga4.Batches), sends them
// under an adaptive concurrency limit, within the rows' lease, and
// classifies each answer for the poller.
package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Config configures a Sender.
type Config struct {
	// MeasurementID is the default GA4 property, for rows whose
	// measurement_id is empty. Required.
	MeasurementID string
	// Secret returns the API secret of a property; ok is false for a
	// property the configuration does not know (the row is then skipped as
	// unknown_property, never sent to the default property). Required.
	Secret func(measurementID string) (secret string, ok bool)
	// Concurrency is the most HTTP requests in flight, across all batches
	// being sent at once. Below it the limit adapts to what the endpoint
	// sustains (see limiter): it starts at InitialConcurrency, grows while
	// latency stays flat and shrinks on 429, 5xx, timeouts and rising
	// latency. Defaults to 1024.
	Concurrency int
	// InitialConcurrency is where the adaptive limit starts. Defaults to 32
	// (or Concurrency when lower).
	InitialConcurrency int
	// Enforce sends validation_behavior ENFORCE_RECOMMENDATIONS. Defaults to
	// false (Google's advice for production traffic).
	Enforce bool
	// EngagementTimeMsec is sent as engagement_time_msec. Zero means
	// ga4.DefaultEngagementTimeMsec.
	EngagementTimeMsec int64
	// QuickRetries is how many times a request that failed in transport
	// (connection reset or closed before an answer: no HTTP status) is sent
	// again at once, before the row goes back to the outbox with backoff.
	// GA deduplicates purchases by transaction_id, so each dropped request
	// that had been read costs at most one duplicate. Defaults to 2;
	// negative disables.
	QuickRetries int
	// Now is the clock for building (timestamps are clamped to it) and for
	// the latencies the limit follows. Defaults to time.Now.
	Now func() time.Time
	// Logger receives a warning when an https endpoint answers over
	// HTTP/1.1. Defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the gauges of requests in flight and of the
	// current limit. Nil means none.
	Registerer prometheus.Registerer
}

// minConcurrency is the floor of the adaptive limit.
const minConcurrency = 4

// Sender sends claimed outbox rows to GA4. It is safe for concurrent use.
type Sender struct {
	client  *ga4.Client
	cfg     Config
	limit   *limiter
	workers *workers
	warned  atomic.Bool // the HTTP/1.1 warning was written
	timeout time.Duration
}

var _ poller.Sender = (*Sender)(nil)

// New returns a Sender that posts with client.
func New(client *ga4.Client, cfg *Config) (*Sender, error) {
	c := *cfg
	c.Concurrency = cmp.Or(c.Concurrency, 1024)
	c.InitialConcurrency = min(cmp.Or(c.InitialConcurrency, 32), c.Concurrency)
	c.QuickRetries = max(cmp.Or(c.QuickRetries, 2), 0)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case client == nil:
		return nil, errors.New("delivery: nil ga4 client")
	case c.MeasurementID == "":
		return nil, errors.New("delivery: config MeasurementID is required")
	case c.Secret == nil:
		return nil, errors.New("delivery: config Secret is required")
	case c.Concurrency < 0 || c.InitialConcurrency < 0:
		return nil, fmt.Errorf("delivery: config Concurrency %d and InitialConcurrency %d must be positive", c.Concurrency, c.InitialConcurrency)
	}
	s := &Sender{client: client, cfg: c, timeout: client.Timeout(), workers: newWorkers(),
		limit: newLimiter(min(minConcurrency, c.Concurrency), c.InitialConcurrency, c.Concurrency, c.Now)}
	if err := s.register(c.Registerer); err != nil {
		return nil, fmt.Errorf("delivery: register metrics: %w", err)
	}
	return s, nil
}

// Limit returns the current limit of requests in flight.
func (s *Sender) Limit() int { return s.limit.Limit() }

// register adds the gauges of requests in flight and of the limit.
func (s *Sender) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	gauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ga4_outbox", Name: "requests_in_flight",
			Help: "HTTP requests to GA4 under way."}, func() float64 { return float64(s.limit.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ga4_outbox", Name: "concurrency_limit",
			Help: "The adaptive limit of HTTP requests in flight (poller.concurrency caps it)."},
			func() float64 { return float64(s.limit.Limit()) }),
	}
	for _, g := range gauges {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}

// FromConfig builds the ga4 client and the Sender from the sidecar
// configuration (ga4 section; poller.concurrency caps the requests in
// flight).
func FromConfig(cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) (*Sender, error) {
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: cfg.GA4.Endpoint, Region: cfg.GA4.Region,
		Timeout: cfg.GA4.Timeout.D(), MaxConnsPerHost: cfg.GA4.MaxConnections, CleartextHTTP2: cfg.GA4.CleartextHTTP2})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	return New(client, &Config{
		MeasurementID: cfg.GA4.MeasurementID,
		Secret: func(id string) (string, bool) {
			s, ok := cfg.SecretFor(id)
			return s.Reveal(), ok
		},
		Concurrency: cfg.Poller.Concurrency,
		Enforce:     cfg.GA4.Validation == "enforce",
		Logger:      logger,
		Registerer:  reg,
	})
}

// property is what one batch sends to one GA4 property.
type property struct {
	id, secret string
	reqs       []ga4.Request
	keys       []int // row index, per request
}

// job is one request of a Send call.
type job struct {
	p *property
	b ga4.Batch[int]
}

// errLeaseEnding is the result of rows whose request could no longer
// finish within their lease.
var errLeaseEnding = errors.New("not sent: the rows' lease would end before a request could finish; due again at once")

// Send builds, validates, routes, groups and sends rows; it returns one
// result per row. Each request waits for a place under the adaptive limit
// (shared by all Send calls) and then runs on a worker goroutine. When
// ctx carries the rows' poller.Lease, a request starts only while the lease
// leaves time for its whole timeout; the rows of requests that cannot start
// in time come back unsent, due again at once.
func (s *Sender) Send(ctx context.Context, rows []poller.Row) []poller.Result {
	results := make([]poller.Result, len(rows))
	var jobs []job
	for _, p := range s.build(rows, results) {
		for _, b := range ga4.Batches(p.reqs, p.keys) {
			jobs = append(jobs, job{p: p, b: b})
		}
	}
	lease := poller.LeaseFrom(ctx)
	var wg sync.WaitGroup
	for i := range jobs {
		pm, err := s.acquire(ctx, lease)
		if err != nil {
			for _, j := range jobs[i:] {
				setAll(results, j.b.Keys, poller.Unsent(fmt.Errorf("send to GA4: %w", err)))
			}
			break
		}
		wg.Add(1)
		s.workers.run(func() {
			defer wg.Done()
			s.sendJob(ctx, lease, pm, &jobs[i], results)
		})
	}
	wg.Wait()
	return results
}

// acquire waits for a place under the limit while the lease (if any)
// leaves time for a whole request.
func (s *Sender) acquire(ctx context.Context, lease *poller.Lease) (*permit, error) {
	if lease == nil {
		return s.limit.acquire(ctx)
	}
	for {
		left := lease.Remaining() - s.timeout
		if left <= 0 {
			return nil, errLeaseEnding
		}
		wctx, cancel := context.WithTimeout(ctx, left)
		pm, err := s.limit.acquire(wctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return pm, err
		}
		// The wait ran out; the poller may have extended the lease meanwhile.
	}
}

// sendJob sends j and records its result per row.
func (s *Sender) sendJob(ctx context.Context, lease *poller.Lease, pm *permit, j *job, results []poller.Result) {
	err := s.send(ctx, lease, j.p, &j.b.Request)
	pm.release(s.outcome(ctx, err))
	s.warnHTTP1()
	setAll(results, j.b.Keys, Classify(err))
}

// send posts one request, again at once after a transport failure while
// the lease leaves time for it.
func (s *Sender) send(ctx context.Context, lease *poller.Lease, p *property, r *ga4.Request) error {
	err := s.client.Send(ctx, p.id, p.secret, r)
	for range s.cfg.QuickRetries {
		var se *ga4.SendError
		if err == nil || ctx.Err() != nil || !errors.As(err, &se) || se.StatusCode != 0 || !se.Retryable {
			break
		}
		if lease != nil && lease.Remaining() < s.timeout {
			break
		}
		err = s.client.Send(ctx, p.id, p.secret, r)
	}
	return err
}

// outcome says what a request's error tells the limiter: 429 asks for
// less; 5xx and timeouts may mean the endpoint struggles; an answer is a latency sample; a cancelled
// request or a failed connection says nothing about load.
func (s *Sender) outcome(ctx context.Context, err error) outcome {
	var se *ga4.SendError
	switch {
	case err == nil:
		return outcomeOK
	case ctx.Err() != nil:
		return outcomeNone
	case errors.As(err, &se) && se.StatusCode == http.StatusTooManyRequests:
		return outcomeThrottled
	case se != nil && se.StatusCode >= 500, errors.Is(err, context.DeadlineExceeded):
		return outcomeFailed
	case se != nil && se.StatusCode != 0:
		return outcomeOK
	}
	return outcomeNone
}

// warnHTTP1 warns once when an https endpoint answered over HTTP/1.1: each
// request then needs a connection of its own, so ga4.max_connections caps
// the requests in flight.
func (s *Sender) warnHTTP1() {
	if s.client.Protocol() != "HTTP/1.1" || !strings.HasPrefix(s.client.BaseURL(), "https:") || s.warned.Swap(true) {
		return
	}
	s.cfg.Logger.Warn("GA4 endpoint answers over HTTP/1.1 only; requests in flight are limited to its connections (ga4.max_connections)",
		"endpoint", s.client.BaseURL())
}

// build fills results for rows that must not be sent and returns the
// others' requests by property.
func (s *Sender) build(rows []poller.Row, results []poller.Result) map[string]*property {
	props := map[string]*property{}
	now := s.cfg.Now()
	for i := range rows {
		r := &rows[i]
		id := cmp.Or(r.MeasurementID, s.cfg.MeasurementID)
		p := props[id]
		if p == nil {
			secret, ok := s.cfg.Secret(id)
			if !ok {
				results[i] = poller.Skip(outbox.ReasonUnknownProperty, "measurement_id "+id+" is not configured")
				continue
			}
			p = &property{id: id, secret: secret}
			props[id] = p
		}
		req, msgs := ga4.BuildEvent(s.eventInput(r), now)
		if len(msgs) > 0 {
			results[i] = poller.Skip(outbox.ReasonInvalid, (&ga4.ValidationError{Messages: msgs}).Error())
			continue
		}
		if s.cfg.Enforce {
			req.ValidationBehavior = "ENFORCE_RECOMMENDATIONS"
		}
		p.reqs, p.keys = append(p.reqs, req), append(p.keys, i)
	}
	return props
}

func (s *Sender) eventInput(r *poller.Row) ga4.EventInput {
	return ga4.EventInput{
		Key: strconv.FormatInt(r.ID, 10), EventName: r.EventName, TransactionID: r.TransactionID,
		Value: r.Value, Currency: r.Currency, Params: r.Params, UserProperties: r.UserProperties,
		ClientID: r.ClientID, SessionID: r.SessionID, UserID: r.UserID,
		AdUserData: r.AdUserData, AdPersonalization: r.AdPersonalization,
		SessionEventAt: r.SessionEventAt, OccurredAt: r.OccurredAt,
		EngagementTimeMsec: s.cfg.EngagementTimeMsec,
	}
}

func setAll(results []poller.Result, keys []int, res poller.Result) {
	for _, i := range keys {
		results[i] = res
	}
}

// Classify turns a ga4.Client.Send error into a row result: nil is
// delivered; a retryable *ga4.SendError (transport, 429, 5xx) is retried
// with the server's Retry-After; any other *ga4.SendError (4xx) is failed
// as rejected; an unknown error is retried (the attempt limit bounds it).
func Classify(err error) poller.Result {
	if err == nil {
		return poller.Delivered()
	}
	var se *ga4.SendError
	if errors.As(err, &se) && !se.Retryable {
		return poller.Fail(outbox.ReasonRejected, err)
	}
	if se != nil {
		return poller.Retry(err, se.RetryAfter)
	}
	return poller.Retry(err, 0)
}
