package delivery_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

func (b *bundle) enqueueRefund(t *testing.T, r outbox.Refund) int64 {
	t.Helper()
	res, err := outbox.EnqueueRefund(context.Background(), b.pool, r)
	require.NoError(t, err)
	return res.ID
}

// Refunds go out like purchases: two partial refunds of one order are two
// refund events with the order's transaction_id, each with its refund_id,
// sent with the purchase's client id and consent; a refund of an order
// whose purchase was never sent is still sent; a refund inheriting a
// denied analytics_storage is never sent; a malformed one is skipped as
// invalid while the others carry on.
func TestRefundsDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	ctx := context.Background()
	b.enqueue(t, conversion("T-order"))
	partial := func(txID, refundID, value string) outbox.Refund {
		return outbox.Refund{TransactionID: txID, RefundID: refundID, Value: value, Currency: "EUR",
			Items: []outbox.Item{{ItemID: "SKU-1", Price: value, Quantity: 1}}, Source: "stripe_webhook"}
	}
	first := b.enqueueRefund(t, partial("T-order", "re_1", "24.95"))
	second := b.enqueueRefund(t, partial("T-order", "re_2", "10.00"))

	// The purchase of T-unsent failed (never sent): its refund goes out
	// anyway, with a client id of its own.
	unsentPurchase := b.enqueue(t, conversion("T-unsent"))
	_, err := b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET status = 'failed', reason = 'rejected' WHERE id = $1`, unsentPurchase)
	require.NoError(t, err)
	orphan := partial("T-unsent", "re_3", "49.90")
	orphan.ClientID = "555.666"
	unsent := b.enqueueRefund(t, orphan)

	denied := conversion("T-denied")
	denied.AnalyticsStorage = outbox.ConsentDenied
	b.enqueue(t, denied)
	deniedRefund := b.enqueueRefund(t, partial("T-denied", "re_4", "5.00"))

	_, err = b.pool.Exec(ctx, `INSERT INTO ga4_outbox.events (event_name, transaction_id, refund_id, value, currency, client_id, params)
		VALUES ('refund', 'T-order', 're_bad', -3, 'EUR', '1.2', '{"items": [{"price": 1}]}')`)
	require.NoError(t, err)
	var bad int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT id FROM ga4_outbox.events WHERE refund_id = 're_bad'`).Scan(&bad))

	b.drain(t)

	for _, id := range []int64{first, second, unsent} {
		require.Equal(t, outbox.StatusDelivered, b.state(t, id).Status)
	}
	require.Equal(t, outbox.ReasonConsentDenied, b.state(t, deniedRefund).Reason)
	st := b.state(t, bad)
	require.Equal(t, []string{outbox.StatusSkipped, outbox.ReasonInvalid}, []string{st.Status, st.Reason})
	require.Contains(t, st.LastError, "must not be negative")
	require.Contains(t, st.LastError, "item_id or item_name")

	refunds := map[string]map[string]any{}
	for _, ev := range b.emu.Accepted() {
		if ev.Name != "refund" {
			continue
		}
		require.Empty(t, ev.Problems)
		ev.Params["client_id"] = ev.ClientID
		ev.Params["consent"] = ev.Consent != nil && ev.Consent.AdUserData == "GRANTED"
		refunds[ev.Params["refund_id"].(string)] = ev.Params
	}
	require.Len(t, refunds, 3, "re_1, re_2 and re_3; never re_4 (denied) nor re_bad")
	for _, id := range []string{"re_1", "re_2"} {
		require.Equal(t, "T-order", refunds[id]["transaction_id"])
		require.Equal(t, "1197596843.1673515099", refunds[id]["client_id"], "the purchase's client id")
		require.Equal(t, true, refunds[id]["consent"], "the purchase's consent")
	}
	require.Equal(t, "555.666", refunds["re_3"]["client_id"])
	require.NotContains(t, refunds["re_1"], "session_id", "no session: a refund happens outside it")
}
