package badinput_test

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// newSender returns the delivery adapter under test.
//
// INTERIM: the shared adapter (internal/delivery) has not landed; the run
// command's adapter (cmd/ga4-outbox/runsender.go, mpSender) lives in
// package main and cannot be imported. This is a line-for-line copy of
// mpSender; replace it with the internal/delivery constructor when that
// package exists, so the corpus tests the code that ships.
func newSender(cfg *config.Config) (outbox.Sender, error) {
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: cfg.GA4.Endpoint, Region: cfg.GA4.Region,
		Timeout: cfg.GA4.Timeout.D(), MaxConnsPerHost: cfg.Poller.Concurrency})
	if err != nil {
		return nil, err
	}
	return &mpSender{client: client, cfg: cfg, concurrency: cfg.Poller.Concurrency, now: time.Now}, nil
}

type mpSender struct {
	client      *ga4.Client
	cfg         *config.Config
	concurrency int
	now         func() time.Time
}

type propertyBatch struct {
	secret string
	reqs   []ga4.Request
	keys   []string
}

func (s *mpSender) Send(ctx context.Context, rows []outbox.Row) []outbox.Result {
	results := make([]outbox.Result, len(rows))
	byProperty := map[string]*propertyBatch{}
	now := s.now()
	for i := range rows {
		r := &rows[i]
		mid := cmp.Or(r.MeasurementID, s.cfg.GA4.MeasurementID)
		secret, ok := s.cfg.SecretFor(mid)
		if !ok {
			results[i] = outbox.Skip(outbox.ReasonUnknownProperty, "measurement_id "+mid+" is not configured")
			continue
		}
		req, msgs := ga4.BuildEvent(rowConversion(r), now)
		if len(msgs) > 0 {
			results[i] = outbox.Skip(outbox.ReasonInvalid, (&ga4.ValidationError{Messages: msgs}).Error())
			continue
		}
		pb := byProperty[mid]
		if pb == nil {
			pb = &propertyBatch{secret: secret.Reveal()}
			byProperty[mid] = pb
		}
		pb.reqs, pb.keys = append(pb.reqs, req), append(pb.keys, strconv.Itoa(i))
	}
	sem := make(chan struct{}, max(1, s.concurrency))
	var wg sync.WaitGroup
	for mid, pb := range byProperty {
		for _, b := range ga4.Batches(pb.reqs, pb.keys) {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				res := sendResult(s.client.Send(ctx, mid, pb.secret, &b.Request))
				for _, k := range b.Keys {
					i, _ := strconv.Atoi(k)
					results[i] = res
				}
			}()
		}
	}
	wg.Wait()
	return results
}

func sendResult(err error) outbox.Result {
	if err == nil {
		return outbox.Delivered()
	}
	var se *ga4.SendError
	if errors.As(err, &se) && se.Retryable {
		return outbox.Retry(err, se.RetryAfter)
	}
	return outbox.Fail(outbox.ReasonRejected, err)
}

func rowConversion(r *outbox.Row) ga4.Conversion {
	return ga4.Conversion{
		Key: strconv.FormatInt(r.ID, 10), EventName: r.EventName, TransactionID: r.TransactionID,
		Value: r.Value, Currency: strings.ToUpper(r.Currency), Params: r.Params, UserProperties: r.UserProperties,
		ClientID: r.ClientID, SessionID: r.SessionID, UserID: r.UserID,
		AdUserData: r.AdUserData, AdPersonalization: r.AdPersonalization,
		SessionEventAt: r.SessionEventAt, OccurredAt: r.OccurredAt,
	}
}
