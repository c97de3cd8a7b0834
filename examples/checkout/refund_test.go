package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chargeRefundedEvent is a Stripe-shaped charge.refunded event for the
// order's payment: the charge lists every refund so far, newest first.
func chargeRefundedEvent(eventID, orderID string, refunds ...map[string]any) []byte {
	var refunded int64
	for _, r := range refunds {
		if r["status"] == "succeeded" {
			refunded += r["amount"].(int64)
		}
	}
	raw, _ := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": "charge.refunded",
		"data": map[string]any{"object": map[string]any{
			"id": "ch_" + orderID, "object": "charge", "amount": 6400, "amount_refunded": refunded,
			"currency": "eur", "payment_intent": "pi_" + orderID, "refunded": refunded == 6400,
			"refunds": map[string]any{"object": "list", "data": refunds},
		}},
	})
	return raw
}

func stripeRefundObj(id string, amount int64, status string, at time.Time) map[string]any {
	return map[string]any{"id": id, "object": "refund", "amount": amount, "currency": "eur", "status": status, "created": at.Unix()}
}

// refundRows lists the order's refund rows: refund id -> value, client id
// and consent.
func (b *bundle) refundRows(t *testing.T, orderID string) map[string][3]string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT refund_id, value::text, coalesce(client_id, ''),
		coalesce(consent_analytics_storage, '') FROM ga4_outbox.events WHERE event_name = 'refund' AND transaction_id = $1`, orderID)
	require.NoError(t, err)
	out := map[string][3]string{}
	for rows.Next() {
		var id string
		var v [3]string
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2]))
		out[id] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// Two partial refunds of one payment: each charge.refunded event lists the
// refunds so far; each Stripe refund becomes one outbox refund (the second
// event's re_1 is a duplicate), a retried event writes nothing, a pending
// refund waits, and the order keeps what Stripe refunded.
func TestWebhookChargeRefundedTwoPartialRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.checkout(t, browserFields)
	code, out := b.webhook(t, paymentEvent(id, nil), testSecret, testNow)
	require.Equal(t, http.StatusOK, code, out)

	first := chargeRefundedEvent("evt_r1", id, stripeRefundObj("re_1", 1250, "succeeded", testNow.Add(time.Hour)))
	code, out = b.webhook(t, first, testSecret, testNow)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []any{map[string]any{"refund_id": "re_1", "outbox_id": out["refunds"].([]any)[0].(map[string]any)["outbox_id"], "duplicate": false}}, out["refunds"])

	second := chargeRefundedEvent("evt_r2", id,
		stripeRefundObj("re_3", 500, "pending", testNow.Add(3*time.Hour)),
		stripeRefundObj("re_2", 3900, "succeeded", testNow.Add(2*time.Hour)),
		stripeRefundObj("re_1", 1250, "succeeded", testNow.Add(time.Hour)))
	for _, at := range []time.Time{testNow, testNow.Add(time.Minute)} { // the second post is Stripe's retry
		code, out = b.webhook(t, second, testSecret, at)
		require.Equal(t, http.StatusOK, code, out)
	}
	dups := map[string]bool{}
	for _, r := range out["refunds"].([]any) {
		m := r.(map[string]any)
		dups[m["refund_id"].(string)] = m["duplicate"].(bool)
	}
	require.Equal(t, map[string]bool{"re_1": true, "re_2": true}, dups, "the retry wrote nothing; re_3 is pending")

	require.Equal(t, map[string][3]string{
		"re_1": {"12.50", "1234567890.1700000000", "granted"},
		"re_2": {"39.00", "1234567890.1700000000", "granted"},
	}, b.refundRows(t, id), "one row per Stripe refund, with the order's ids and consent")
	var refunded int64
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT refunded_minor FROM public.checkout_orders WHERE id = $1::bigint`, id).Scan(&refunded))
	require.EqualValues(t, 5150, refunded)

	t.Run("after retention deleted the purchase row", func(t *testing.T) {
		_, err := b.pool.Exec(context.Background(), `DELETE FROM ga4_outbox.events WHERE event_name = 'purchase' AND transaction_id = $1`, id)
		require.NoError(t, err)
		third := chargeRefundedEvent("evt_r3", id, stripeRefundObj("re_4", 100, "succeeded", testNow.Add(4*time.Hour)))
		code, out := b.webhook(t, third, testSecret, testNow)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, [3]string{"1.00", "1234567890.1700000000", "granted"}, b.refundRows(t, id)["re_4"],
			"the order's own ids and consent")
	})

	t.Run("an older event arriving late lowers nothing", func(t *testing.T) {
		code, out := b.webhook(t, first, testSecret, testNow.Add(2*time.Minute))
		require.Equal(t, http.StatusOK, code, out)
		require.NoError(t, b.pool.QueryRow(context.Background(),
			`SELECT refunded_minor FROM public.checkout_orders WHERE id = $1::bigint`, id).Scan(&refunded))
		require.EqualValues(t, 5150, refunded)
	})
}

func TestWebhookChargeRefundedRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := chargeRefundedEvent("evt_x", "999", stripeRefundObj("re_x", 100, "succeeded", testNow))
	code, out := b.webhook(t, ev, "whsec_wrong", testNow)
	require.Equal(t, http.StatusBadRequest, code, out)
	code, out = b.webhook(t, ev, testSecret, testNow)
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out["error"], "data.object.payment_intent")

	raw, _ := json.Marshal(map[string]any{"id": "evt_y", "type": "charge.refunded", "data": map[string]any{"object": map[string]any{"id": "ch_1"}}})
	code, out = b.webhook(t, raw, testSecret, testNow)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out["error"], "payment_intent")
}
