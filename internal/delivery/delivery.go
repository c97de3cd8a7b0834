// Package delivery adapts the ga4 client to outbox.Sender: it builds one
// Measurement Protocol event per claimed row (ga4.BuildEvent), skips rows
// that fail validation or name an unknown GA4 property, groups the rest
// into requests of up to 25 events per client (ga4.Batches), sends them
// with bounded concurrency and classifies each answer for the poller.
package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/fastpost"
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
	// Concurrency caps the HTTP requests in flight, across all batches
	// being sent at once. Defaults to 32.
	Concurrency int
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
	// that had been read costs at most one duplicate. Defaults to 2 (with
	// 1 % of connections dropped, a row fails twice in a row once in 10,000
	// sends and then waits out BackoffInitial); negative disables.
	QuickRetries int
	// Now is the clock for building (timestamps are clamped to it).
	// Defaults to time.Now.
	Now func() time.Time
}

// Sender sends claimed outbox rows to GA4. It is safe for concurrent use.
type Sender struct {
	client *ga4.Client
	cfg    Config
	slots  chan struct{}
}

var _ outbox.Sender = (*Sender)(nil)

// New returns a Sender that posts with client.
func New(client *ga4.Client, cfg *Config) (*Sender, error) {
	c := *cfg
	c.Concurrency = cmp.Or(c.Concurrency, 32)
	c.QuickRetries = max(cmp.Or(c.QuickRetries, 2), 0)
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case client == nil:
		return nil, errors.New("delivery: nil ga4 client")
	case c.MeasurementID == "":
		return nil, errors.New("delivery: config MeasurementID is required")
	case c.Secret == nil:
		return nil, errors.New("delivery: config Secret is required")
	case c.Concurrency < 0:
		return nil, fmt.Errorf("delivery: config Concurrency %d must be positive", c.Concurrency)
	}
	return &Sender{client: client, cfg: c, slots: make(chan struct{}, c.Concurrency)}, nil
}

// FromConfig builds the ga4 client and the Sender from the sidecar
// configuration (ga4 section; poller.concurrency for HTTP concurrency).
func FromConfig(cfg *config.Config) (*Sender, error) {
	client, err := newClient(cfg)
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
	})
}

// newClient returns the ga4 client of the configuration, on fastpost
// unless a proxy from the environment applies to the endpoint (net/http
// reads those settings; fastpost does not).
func newClient(cfg *config.Config) (*ga4.Client, error) {
	cc := ga4.ClientConfig{Endpoint: cfg.GA4.Endpoint, Region: cfg.GA4.Region,
		Timeout: cfg.GA4.Timeout.D(), MaxConnsPerHost: cfg.Poller.Concurrency}
	client, err := ga4.NewClient(&cc)
	if err != nil || fastpost.Proxied(client.BaseURL()) {
		return client, err
	}
	cc.Transport = fastpost.New(cfg.Poller.Concurrency)
	return ga4.NewClient(&cc)
}

// property is what one batch sends to one GA4 property.
type property struct {
	id, secret string
	reqs       []ga4.Request
	keys       []string // row index as text, per request
}

// Send builds, validates, routes, groups and sends rows; it returns one
// result per row. Up to Concurrency workers per call take the requests in
// turn (a goroutine per request grew a fresh stack through net/http each
// time: ~5 % of the drain's CPU); the slots cap requests in flight across
// calls.
func (s *Sender) Send(ctx context.Context, rows []outbox.Row) []outbox.Result {
	results := make([]outbox.Result, len(rows))
	var jobs []job
	for _, p := range s.build(rows, results) {
		for _, b := range ga4.Batches(p.reqs, p.keys) {
			jobs = append(jobs, job{p: p, b: b})
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(jobs), s.cfg.Concurrency) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(jobs)); i = next.Add(1) - 1 {
				s.sendJob(ctx, &jobs[i], results)
			}
		})
	}
	wg.Wait()
	return results
}

// job is one request of a Send call.
type job struct {
	p *property
	b ga4.Batch
}

// sendJob waits for a slot, sends j and records its result per row.
func (s *Sender) sendJob(ctx context.Context, j *job, results []outbox.Result) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		setAll(results, j.b.Keys, outbox.Retry(fmt.Errorf("send to GA4: %w", ctx.Err()), 0))
		return
	}
	defer func() { <-s.slots }()
	setAll(results, j.b.Keys, Classify(s.send(ctx, j.p, &j.b.Request)))
}

// send posts one request, again at once after a transport failure.
func (s *Sender) send(ctx context.Context, p *property, r *ga4.Request) error {
	err := s.client.Send(ctx, p.id, p.secret, r)
	for range s.cfg.QuickRetries {
		var se *ga4.SendError
		if err == nil || ctx.Err() != nil || !errors.As(err, &se) || se.StatusCode != 0 || !se.Retryable {
			break
		}
		err = s.client.Send(ctx, p.id, p.secret, r)
	}
	return err
}

// build fills results for rows that must not be sent and returns the
// others' requests by property.
func (s *Sender) build(rows []outbox.Row, results []outbox.Result) map[string]*property {
	props := map[string]*property{}
	now := s.cfg.Now()
	for i := range rows {
		r := &rows[i]
		id := cmp.Or(r.MeasurementID, s.cfg.MeasurementID)
		p := props[id]
		if p == nil {
			secret, ok := s.cfg.Secret(id)
			if !ok {
				results[i] = outbox.Skip(outbox.ReasonUnknownProperty, "measurement_id "+id+" is not configured")
				continue
			}
			p = &property{id: id, secret: secret}
			props[id] = p
		}
		req, msgs := ga4.BuildEvent(s.conversion(r), now)
		if len(msgs) > 0 {
			results[i] = outbox.Skip(outbox.ReasonInvalid, (&ga4.ValidationError{Messages: msgs}).Error())
			continue
		}
		if s.cfg.Enforce {
			req.ValidationBehavior = "ENFORCE_RECOMMENDATIONS"
		}
		p.reqs, p.keys = append(p.reqs, req), append(p.keys, strconv.Itoa(i))
	}
	return props
}

func (s *Sender) conversion(r *outbox.Row) ga4.Conversion {
	return ga4.Conversion{
		Key: strconv.FormatInt(r.ID, 10), EventName: r.EventName, TransactionID: r.TransactionID,
		Value: r.Value, Currency: r.Currency, Params: r.Params, UserProperties: r.UserProperties,
		ClientID: r.ClientID, SessionID: r.SessionID, UserID: r.UserID,
		AdUserData: r.AdUserData, AdPersonalization: r.AdPersonalization,
		SessionEventAt: r.SessionEventAt, OccurredAt: r.OccurredAt,
		EngagementTimeMsec: s.cfg.EngagementTimeMsec,
	}
}

func setAll(results []outbox.Result, keys []string, res outbox.Result) {
	for _, k := range keys {
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(results) {
			results[i] = res
		}
	}
}

// Classify turns a ga4.Client.Send error into a row result: nil is
// delivered; a retryable *ga4.SendError (transport, 429, 5xx) is retried
// with the server's Retry-After; any other *ga4.SendError (4xx) is failed
// as rejected; an unknown error is retried (the attempt limit bounds it).
func Classify(err error) outbox.Result {
	if err == nil {
		return outbox.Delivered()
	}
	var se *ga4.SendError
	if errors.As(err, &se) && !se.Retryable {
		return outbox.Fail(outbox.ReasonRejected, err)
	}
	if se != nil {
		return outbox.Retry(err, se.RetryAfter)
	}
	return outbox.Retry(err, 0)
}
