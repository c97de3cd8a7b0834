package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// stripeEvent is the part of a Stripe event this shop reads.
type stripeEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object struct {
			ID             string            `json:"id"`
			AmountReceived int64             `json:"amount_received"`
			Currency       string            `json:"currency"`
			Metadata       map[string]string `json:"metadata"`
		} `json:"object"`
	} `json:"data"`
}

type webhookResponse struct {
	Received  bool   `json:"received"`
	Ignored   string `json:"ignored,omitempty"`
	OrderID   int64  `json:"order_id,omitempty"`
	OutboxID  int64  `json:"outbox_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// handleStripeWebhook verifies the Stripe-Signature header, then, for
// payment_intent.succeeded, marks the order paid and enqueues the purchase
// in ONE transaction. A retried webhook finds the row already enqueued and
// writes nothing new. charge.refunded enqueues the charge's refunds
// (refund.go). Other event types are acknowledged and ignored.
func (a *App) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		a.respond(w, r, 0, nil, badRequest("body: %v", err))
		return
	}
	if err := verifySignature(r.Header.Get("Stripe-Signature"), payload, a.cfg.WebhookSecret, a.cfg.Now()); err != nil {
		a.cfg.Logger.WarnContext(r.Context(), "webhook rejected", "err", err)
		a.respond(w, r, 0, nil, badRequest("%v", err))
		return
	}
	var ev stripeEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		a.respond(w, r, 0, nil, badRequest("body: not a Stripe event: %v", err))
		return
	}
	if ev.Type == "charge.refunded" {
		resp, err := a.chargeRefunded(r.Context(), payload)
		a.respond(w, r, http.StatusOK, resp, err)
		return
	}
	if ev.Type != "payment_intent.succeeded" {
		a.respond(w, r, http.StatusOK, webhookResponse{Received: true, Ignored: ev.Type}, nil)
		return
	}
	resp, err := a.paymentSucceeded(r.Context(), &ev)
	a.respond(w, r, http.StatusOK, resp, err)
}

func (a *App) paymentSucceeded(ctx context.Context, ev *stripeEvent) (*webhookResponse, error) {
	pi := ev.Data.Object
	orderID, err := strconv.ParseInt(pi.Metadata["order_id"], 10, 64)
	if err != nil {
		return nil, badRequest("data.object.metadata.order_id: %q is not an order id", pi.Metadata["order_id"])
	}
	var resp *webhookResponse
	err = pgx.BeginFunc(ctx, a.cfg.Pool, func(tx pgx.Tx) error {
		o, err := markPaid(ctx, tx, orderID, pi.ID, a.cfg.Now())
		if err != nil {
			return err
		}
		res, err := outbox.Enqueue(ctx, tx, o.conversion(pi.Metadata))
		if err != nil {
			return fmt.Errorf("enqueue purchase: %w", err)
		}
		resp = &webhookResponse{Received: true, OrderID: orderID, OutboxID: res.ID, Duplicate: res.Duplicate}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.cfg.Logger.InfoContext(ctx, "payment recorded", "order_id", orderID, "event", ev.ID,
		"outbox_id", resp.OutboxID, "duplicate", resp.Duplicate)
	return resp, nil
}

// order is a paid order as the webhook reads it back.
type order struct {
	id                                       int64
	currency                                 string
	totalMinor                               int64
	items                                    []orderItem
	clientID, sessionID                      *string
	analytics, adUserData, adPersonalization *string
	sessionEventAt, paidAt                   time.Time
}

// markPaid marks the order paid (keeping the first paid_at on a retry) and
// returns it.
func markPaid(ctx context.Context, tx pgx.Tx, id int64, paymentIntent string, now time.Time) (*order, error) {
	var o order
	err := tx.QueryRow(ctx, `
UPDATE public.checkout_orders
   SET status = 'paid', paid_at = COALESCE(paid_at, $2), payment_intent = COALESCE(payment_intent, $3)
 WHERE id = $1
RETURNING id, currency, total_minor, items, ga_client_id, ga_session_id,
          consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
          session_event_at, paid_at`, id, now, paymentIntent).Scan(
		&o.id, &o.currency, &o.totalMinor, &o.items, &o.clientID, &o.sessionID,
		&o.analytics, &o.adUserData, &o.adPersonalization, &o.sessionEventAt, &o.paidAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("data.object.metadata.order_id: order %d does not exist", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("mark order %d paid: %w", id, err)
	}
	return &o, nil
}

// conversion builds the purchase. The ids stored at checkout win; the
// payment's metadata (ga_client_id, ga_session_id) fills what checkout did
// not capture, e.g. an order created by another client that put the ids on
// the PaymentIntent. Ids are never taken when analytics consent is denied.
func (o *order) conversion(meta map[string]string) outbox.Conversion {
	c := outbox.Conversion{
		EventName:         "purchase",
		TransactionID:     strconv.FormatInt(o.id, 10),
		Value:             formatMinor(o.totalMinor),
		Currency:          o.currency,
		ClientID:          deref(o.clientID),
		SessionID:         deref(o.sessionID),
		AnalyticsStorage:  deref(o.analytics),
		AdUserData:        deref(o.adUserData),
		AdPersonalization: deref(o.adPersonalization),
		SessionEventAt:    o.sessionEventAt,
		OccurredAt:        o.paidAt,
		Source:            "stripe_webhook",
	}
	if c.AnalyticsStorage != outbox.ConsentDenied {
		c.ClientID = cmpOr(c.ClientID, meta["ga_client_id"])
		c.SessionID = cmpOr(c.SessionID, meta["ga_session_id"])
	}
	for _, it := range o.items {
		c.Items = append(c.Items, outbox.Item{ItemID: it.SKU, ItemName: it.Name,
			Price: formatMinor(it.PriceMinor), Quantity: it.Quantity})
	}
	return c
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
