package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// TestCheckoutToGA4 drives the whole integration: checkout stores the
// browser's ids, the signed webhook enqueues in the order's transaction (a
// retry enqueues nothing), and the sidecar's poller delivers the purchase
// to the emulator with the browser's ids and the in-session click time.
func TestCheckoutToGA4(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const mid, secret = "G-SHOP2026", "mp-secret-for-tests"
	now := func() time.Time { return testNow.Add(time.Minute) }
	emu := ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{mid: {secret}}, Now: now})

	id := b.checkout(t, browserFields)
	payload := paymentEvent(id, nil)
	for i := 0; i < 2; i++ { // Stripe retries the webhook
		code, out := b.webhook(t, payload, testSecret, testNow)
		require.Equal(t, http.StatusOK, code, out)
	}

	// The app runs on the fixed test clock, but the row's next_attempt_at
	// came from the database's now(): bring it onto the same clock.
	_, err := b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET next_attempt_at = $1`, testNow)
	require.NoError(t, err)

	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: emu.URL})
	require.NoError(t, err)
	sender, err := delivery.New(client, &delivery.Config{MeasurementID: mid, Now: now,
		Secret: func(m string) (string, bool) { return secret, m == mid }})
	require.NoError(t, err)
	p, err := poller.New(b.pool, sender, &poller.Config{Now: now, DisableListen: true})
	require.NoError(t, err)
	stats, err := p.Drain(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, "delivered", b.outboxRow(t, id).status, "stats %+v", stats)

	events, err := emu.WaitAccepted(ctx, 1)
	require.NoError(t, err)
	require.Len(t, emu.Accepted(), 1, "one purchase, although the webhook came twice")
	e := events[0]
	require.Equal(t, "purchase", e.Name)
	require.Equal(t, id, e.TransactionID)
	require.Equal(t, "1234567890.1700000000", e.ClientID)
	require.Equal(t, testSessionID, fmt.Sprint(e.Params["session_id"]))
	require.Equal(t, testClickAt.UnixMicro(), e.TimestampMicros, "the in-session click time, not the payment time")
	require.Equal(t, "64.00", fmt.Sprint(e.Params["value"]))
	require.Equal(t, "EUR", e.Params["currency"])
	require.Equal(t, &ga4.Consent{AdUserData: "GRANTED", AdPersonalization: "DENIED"}, e.Consent)
	require.True(t, ga4.CheckAttribution(testSessionID, testClickAt, true, now()).Attributable)
}
