package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// stripeCharge is the part of a charge.refunded event this shop reads: the
// charge, how much of it is refunded so far, and its refunds (Stripe lists
// every refund of the charge, newest first, so the event for a second
// partial refund lists the first one again).
type stripeCharge struct {
	ID             string `json:"id"`
	PaymentIntent  string `json:"payment_intent"`
	Currency       string `json:"currency"`
	AmountRefunded int64  `json:"amount_refunded"`
	Refunds        struct {
		Data []stripeRefund `json:"data"`
	} `json:"refunds"`
}

type stripeRefund struct {
	ID       string `json:"id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
	Created  int64  `json:"created"`
}

type refundResponse struct {
	Received bool            `json:"received"`
	OrderID  int64           `json:"order_id"`
	Refunds  []refundOutcome `json:"refunds"`
}

type refundOutcome struct {
	RefundID  string `json:"refund_id"`
	OutboxID  int64  `json:"outbox_id"`
	Duplicate bool   `json:"duplicate"`
}

// chargeRefunded records a charge.refunded event in ONE transaction: the
// order's refunded amount (the charge's amount_refunded, never lowered by
// an older event arriving late) and one outbox refund per succeeded refund
// of the charge, keyed by its Stripe refund id. Refunds already enqueued
// (listed again, or a retried webhook) are duplicates and write nothing.
// Each refund carries the GA4 client id and consent stored with the order,
// so it goes out like the purchase even after the sidecar's retention has
// deleted the purchase's row (without them it would take the row's).
func (a *App) chargeRefunded(ctx context.Context, payload []byte) (*refundResponse, error) {
	var ev struct {
		ID   string `json:"id"`
		Data struct {
			Object stripeCharge `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, badRequest("body: not a charge.refunded event: %v", err)
	}
	ch := ev.Data.Object
	if ch.PaymentIntent == "" {
		return nil, badRequest("data.object.payment_intent: is required to find the order")
	}
	resp := &refundResponse{Received: true, Refunds: []refundOutcome{}}
	err := pgx.BeginFunc(ctx, a.cfg.Pool, func(tx pgx.Tx) error {
		o, err := markRefunded(ctx, tx, ch)
		if err != nil {
			return err
		}
		resp.OrderID = o.id
		for _, re := range ch.Refunds.Data {
			if re.Status != "succeeded" {
				continue // pending or failed: Stripe sends charge.refund.updated when it settles
			}
			res, err := outbox.EnqueueRefund(ctx, tx, o.refund(ch, re))
			if err != nil {
				return fmt.Errorf("enqueue refund %s: %w", re.ID, err)
			}
			resp.Refunds = append(resp.Refunds, refundOutcome{RefundID: re.ID, OutboxID: res.ID, Duplicate: res.Duplicate})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.cfg.Logger.InfoContext(ctx, "refund recorded", "order_id", resp.OrderID, "event", ev.ID, "refunds", len(resp.Refunds))
	return resp, nil
}

// markRefunded stores the charge's refunded amount on its order and
// returns the order's id, GA4 client id and consent.
func markRefunded(ctx context.Context, tx pgx.Tx, ch stripeCharge) (*order, error) {
	var o order
	err := tx.QueryRow(ctx, `
UPDATE public.checkout_orders SET refunded_minor = GREATEST(refunded_minor, $2)
 WHERE payment_intent = $1
RETURNING id, ga_client_id, consent_analytics_storage, consent_ad_user_data, consent_ad_personalization`,
		ch.PaymentIntent, ch.AmountRefunded).Scan(&o.id, &o.clientID, &o.analytics, &o.adUserData, &o.adPersonalization)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("data.object.payment_intent: no paid order for %q", ch.PaymentIntent)}
	}
	if err != nil {
		return nil, fmt.Errorf("mark order of %s refunded: %w", ch.PaymentIntent, err)
	}
	return &o, nil
}

// refund is one Stripe refund as an outbox refund of the order. Stripe
// refunds an amount, not items, so the refund carries its value only.
func (o *order) refund(ch stripeCharge, re stripeRefund) outbox.Refund {
	r := outbox.Refund{
		TransactionID:     strconv.FormatInt(o.id, 10),
		RefundID:          re.ID,
		Value:             formatMinor(re.Amount),
		Currency:          strings.ToUpper(cmpOr(re.Currency, ch.Currency)),
		ClientID:          deref(o.clientID),
		AnalyticsStorage:  deref(o.analytics),
		AdUserData:        deref(o.adUserData),
		AdPersonalization: deref(o.adPersonalization),
		Source:            "stripe_webhook",
	}
	if re.Created > 0 {
		r.OccurredAt = time.Unix(re.Created, 0).UTC()
	}
	return r
}
