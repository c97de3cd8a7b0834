package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// settledDay is the most recent UTC day whose orders are all at least
// finalAfter old at now, so that their outcomes are final: at 03:00 with
// 72 h, the day that ended 75 h ago (orders 75 to 99 h old).
func settledDay(now time.Time, finalAfter time.Duration) (since, until time.Time) {
	until = now.UTC().Add(-finalAfter).Truncate(24 * time.Hour)
	return until.AddDate(0, 0, -1), until
}

// observeSettled builds the credited figures of the settled day (the
// report's "Credited in GA4" section over that window) and sets
// ga4_outbox_report_credited_ratio from them: the nightly report covers
// yesterday, whose outcomes are still provisional or not fetched yet, so
// the gauge and its alert read the last day GA4 has finished with.
func (j *outcomeJob) observeSettled(ctx context.Context, now time.Time) error {
	if j.report == nil {
		return nil
	}
	opts := reportOptions(j.cfg)
	opts.OrdersQuery = "" // only the credited figures are read
	opts.Since, opts.Until = settledDay(now, j.cfg.Outcomes.FinalAfter.D())
	opts.Now = func() time.Time { return now }
	r, err := reconcile.Build(ctx, j.pool, opts)
	if err != nil {
		return fmt.Errorf("credited ratio of %s: %w", opts.Since.Format(time.DateOnly), err)
	}
	j.report.ObserveSettledCredited(r)
	ratios := map[string]float64{}
	for _, s := range r.Credited.Summary {
		if s.CreditedRatio != nil {
			ratios[s.Currency] = *s.CreditedRatio
		}
	}
	j.logger.Info("credited ratio of the settled day", "day", opts.Since.Format(time.DateOnly), "credited_ratio", ratios)
	return nil
}
