package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

const testSecret = "whsec_test_0123456789"

// testNow is the fixed server clock: the browser session started 10 minutes
// earlier and the checkout click is 2 minutes ago.
var (
	testNow       = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	testSessionID = fmt.Sprint(testNow.Add(-10 * time.Minute).Unix())
	testClickAt   = testNow.Add(-2 * time.Minute)
)

type bundle struct {
	pool   *pgxpool.Pool
	dbURL  string
	server *httptest.Server
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	pool, err := dbconn.OpenPool(ctx, dbURL, 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, EnsureSchema(ctx, pool))
	app, err := NewApp(Config{Pool: pool, WebhookSecret: testSecret,
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return &bundle{pool: pool, dbURL: dbURL, server: srv}
}

// tWriter sends log lines to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

func (b *bundle) post(t *testing.T, path string, body []byte, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.server.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

// checkout posts a cart with the given ga4-ids.js fields and returns the
// order id.
func (b *bundle) checkout(t *testing.T, fields map[string]any) string {
	t.Helper()
	body := map[string]any{"cart": map[string]any{"items": []map[string]any{
		{"sku": "MUG-01", "quantity": 2}, {"sku": "BOOK-01", "quantity": 1},
	}}}
	for k, v := range fields {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	code, out := b.post(t, "/checkout", raw, nil)
	require.Equal(t, http.StatusCreated, code, out)
	require.Equal(t, "64.00", out["total"])
	return out["payment_metadata_order_id"].(string)
}

func paymentEvent(orderID string, meta map[string]string) []byte {
	m := map[string]string{"order_id": orderID}
	for k, v := range meta {
		m[k] = v
	}
	raw, _ := json.Marshal(map[string]any{
		"id": "evt_" + orderID, "object": "event", "type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{
			"id": "pi_" + orderID, "object": "payment_intent", "amount_received": 6400,
			"currency": "eur", "metadata": m,
		}},
	})
	return raw
}

// webhook posts a payment event signed at the given time with secret.
func (b *bundle) webhook(t *testing.T, payload []byte, secret string, at time.Time) (int, map[string]any) {
	t.Helper()
	return b.post(t, "/webhooks/stripe", payload, map[string]string{"Stripe-Signature": SignPayload(payload, secret, at)})
}

// outboxRow is what the outbox holds for one transaction id.
type outboxRow struct {
	count                               int
	clientID, sessionID, consent, value string
	currency, source, status            string
	sessionEventAt                      time.Time
}

func (b *bundle) outboxRow(t *testing.T, txID string) outboxRow {
	t.Helper()
	var r outboxRow
	err := b.pool.QueryRow(context.Background(), `
SELECT count(*) OVER (), COALESCE(client_id, ''), COALESCE(session_id, ''),
       COALESCE(consent_analytics_storage, ''), value::text, currency, source, status,
       COALESCE(session_event_at, 'epoch')
  FROM ga4_outbox.events WHERE transaction_id = $1`, txID).Scan(
		&r.count, &r.clientID, &r.sessionID, &r.consent, &r.value, &r.currency, &r.source, &r.status, &r.sessionEventAt)
	if err != nil {
		require.ErrorContains(t, err, "no rows")
	}
	return r
}

func (b *bundle) orderStatus(t *testing.T, id string) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT status FROM public.checkout_orders WHERE id = $1::bigint`, id).Scan(&s))
	return s
}

var browserFields = map[string]any{
	"client_id": "1234567890.1700000000", "session_id": testSessionID,
	"session_event_at":          testClickAt.Format(time.RFC3339Nano),
	"consent_analytics_storage": "granted", "consent_ad_user_data": "granted",
	"consent_ad_personalization": "denied",
}

func TestWebhookEnqueuesOnceWithTheCheckoutIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.checkout(t, browserFields)
	require.Equal(t, "pending", b.orderStatus(t, id))
	require.Zero(t, b.outboxRow(t, id).count, "checkout alone enqueues nothing")

	payload := paymentEvent(id, nil)
	code, out := b.webhook(t, payload, testSecret, testNow)
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, false, out["duplicate"] == true)
	require.Equal(t, "paid", b.orderStatus(t, id))

	row := b.outboxRow(t, id)
	require.Equal(t, 1, row.count)
	require.Equal(t, "1234567890.1700000000", row.clientID)
	require.Equal(t, testSessionID, row.sessionID)
	require.Equal(t, "granted", row.consent)
	require.Equal(t, "64.00", row.value)
	require.Equal(t, "EUR", row.currency)
	require.Equal(t, "stripe_webhook", row.source)
	require.Equal(t, "pending", row.status)
	require.True(t, testClickAt.Equal(row.sessionEventAt), "session_event_at %v", row.sessionEventAt)

	t.Run("a retried webhook enqueues nothing new", func(t *testing.T) {
		code, out := b.webhook(t, payload, testSecret, testNow.Add(time.Minute))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, true, out["duplicate"])
		require.Equal(t, 1, b.outboxRow(t, id).count)
	})
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.checkout(t, browserFields)
	payload := paymentEvent(id, nil)
	cases := map[string]map[string]string{
		"wrong secret":    {"Stripe-Signature": SignPayload(payload, "whsec_other", testNow)},
		"too old":         {"Stripe-Signature": SignPayload(payload, testSecret, testNow.Add(-6*time.Minute))},
		"from the future": {"Stripe-Signature": SignPayload(payload, testSecret, testNow.Add(6*time.Minute))},
		"missing header":  {},
		"tampered body":   {"Stripe-Signature": SignPayload(paymentEvent(id, map[string]string{"x": "y"}), testSecret, testNow)},
		"garbage":         {"Stripe-Signature": "v1=abc"},
	}
	for name, header := range cases {
		code, out := b.post(t, "/webhooks/stripe", payload, header)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", name, out)
		require.Contains(t, out["error"], "stripe signature", name)
	}
	require.Equal(t, "pending", b.orderStatus(t, id))
	require.Zero(t, b.outboxRow(t, id).count, "nothing enqueued")
}

func TestWebhookMetadataFillsMissingIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Run("gtag blocked at checkout: ids from the PaymentIntent metadata", func(t *testing.T) {
		id := b.checkout(t, map[string]any{"consent_analytics_storage": "granted"})
		code, out := b.webhook(t, paymentEvent(id, map[string]string{
			"ga_client_id": "555.666", "ga_session_id": testSessionID}), testSecret, testNow)
		require.Equal(t, http.StatusOK, code, out)
		row := b.outboxRow(t, id)
		require.Equal(t, "555.666", row.clientID)
		require.Equal(t, testSessionID, row.sessionID)
		require.True(t, testNow.Equal(row.sessionEventAt), "no browser time: the server's checkout time")
	})
	t.Run("consent denied: no ids, even from metadata", func(t *testing.T) {
		id := b.checkout(t, map[string]any{"consent_analytics_storage": "denied"})
		code, out := b.webhook(t, paymentEvent(id, map[string]string{
			"ga_client_id": "555.666", "ga_session_id": testSessionID}), testSecret, testNow)
		require.Equal(t, http.StatusOK, code, out)
		row := b.outboxRow(t, id)
		require.Equal(t, 1, row.count, "stored, so the audit counts it")
		require.Empty(t, row.clientID)
		require.Equal(t, "denied", row.consent)
	})
}

func TestCheckoutRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := map[string]struct{ body, field string }{
		"empty cart":    {`{"cart":{"items":[]}}`, "cart.items"},
		"unknown sku":   {`{"cart":{"items":[{"sku":"NOPE","quantity":1}]}}`, "cart.items[0].sku"},
		"zero quantity": {`{"cart":{"items":[{"sku":"MUG-01","quantity":0}]}}`, "cart.items[0].quantity"},
		"bad session":   {`{"cart":{"items":[{"sku":"MUG-01","quantity":1}]},"session_id":"GS1.1.x"}`, "session_id"},
		"bad consent":   {`{"cart":{"items":[{"sku":"MUG-01","quantity":1}]},"consent_ad_user_data":"yes"}`, "consent_ad_user_data"},
		"not json":      {`{`, "body"},
	}
	for name, c := range cases {
		code, out := b.post(t, "/checkout", []byte(c.body), nil)
		require.Equal(t, http.StatusBadRequest, code, name)
		require.Contains(t, out["error"], c.field, name)
	}
}

func TestWebhookUnknownOrderAndOtherEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code, out := b.webhook(t, paymentEvent("999999", nil), testSecret, testNow)
	require.Equal(t, http.StatusNotFound, code, out)
	require.Contains(t, out["error"], "order 999999 does not exist")

	other, _ := json.Marshal(map[string]any{"id": "evt_1", "type": "customer.created", "data": map[string]any{"object": map[string]any{}}})
	code, out = b.webhook(t, other, testSecret, testNow)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "customer.created", out["ignored"])
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"id":"evt_1"}`)
	good := SignPayload(payload, testSecret, testNow)
	require.NoError(t, verifySignature(good, payload, testSecret, testNow.Add(4*time.Minute)))
	t.Run("any of several v1 signatures (secret roll)", func(t *testing.T) {
		other := SignPayload(payload, "whsec_old", testNow)
		h := other + "," + good[len(fmt.Sprintf("t=%d,", testNow.Unix())):] + ",v0=ignored"
		require.NoError(t, verifySignature(h, payload, testSecret, testNow))
	})
	t.Run("non-hex signature", func(t *testing.T) {
		err := verifySignature(fmt.Sprintf("t=%d,v1=zz", testNow.Unix()), payload, testSecret, testNow)
		require.ErrorIs(t, err, ErrSignature)
		require.ErrorContains(t, err, "no v1 signature matches")
	})
	t.Run("bad timestamp", func(t *testing.T) {
		require.ErrorContains(t, verifySignature("t=abc,v1=00", payload, testSecret, testNow), `t="abc" is not a Unix timestamp`)
	})
	t.Run("the error never shows the expected signature", func(t *testing.T) {
		err := verifySignature(fmt.Sprintf("t=%d,v1=00", testNow.Unix()), payload, testSecret, testNow)
		require.NotContains(t, err.Error(), good[len(good)-64:])
		require.NotContains(t, err.Error(), testSecret)
	})
}
