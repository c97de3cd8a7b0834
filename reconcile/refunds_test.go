package reconcile_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// insertRefunds adds the fixture's refunds (none delivered, no errors, so
// the delivery health of the conversions is unchanged) and what the
// application says it refunded per order. With the fixture's purchases:
//
//	A1 (EUR 100.00, attributable)   re_a1_1 30.00 and re_a1_2 80.00: 110.00 exceeds 100.00
//	M1 (EUR 40.00, no session id)   a full refund without value: 40.00 from the purchase
//	F1 (EUR 33.00, failed)          re_f1 33.00: purchase not sent
//	D1 (EUR 60.00, consent denied)  re_d1 60.00, skipped (it inherits the denial)
//	A3 (USD 200.00, attributable)   re_a3 20.00 in EUR: currency differs
//	Z9 (no purchase)                re_z9 USD 12.00
//	X1 (EUR, outside the window)    re_x1 5.00 on 2026-03-04: outside the window too
//
// EUR refunded in the window: 30 + 80 + 40 + 33 + 60 + 20 = 263.00; USD 12.00.
func insertRefunds(t testing.TB, e execer) {
	t.Helper()
	ctx := context.Background()
	_, err := e.Exec(ctx, `INSERT INTO ga4_outbox.events
	  (event_name, transaction_id, refund_id, value, currency, source, occurred_at, status, reason, params)
	VALUES
	  ('refund', 'A1', 're_a1_1', 30.00, 'EUR', 'stripe', '2026-03-02 10:00Z', 'pending', NULL, '{"items": [{"item_id": "SKU-1"}]}'),
	  ('refund', 'A1', 're_a1_2', 80.00, 'EUR', 'stripe', '2026-03-03 10:00Z', 'pending', NULL, '{"items": [{"item_id": "SKU-2"}]}'),
	  ('refund', 'M1', NULL, NULL, NULL, 'support', '2026-03-02 11:00Z', 'pending', NULL, '{}'),
	  ('refund', 'F1', 're_f1', 33.00, 'EUR', 'stripe', '2026-03-02 12:00Z', 'pending', NULL, '{}'),
	  ('refund', 'D1', 're_d1', 60.00, 'EUR', 'stripe', '2026-03-02 13:00Z', 'skipped', 'consent_denied', '{}'),
	  ('refund', 'A3', 're_a3', 20.00, 'EUR', 'stripe', '2026-03-03 09:00Z', 'pending', NULL, '{}'),
	  ('refund', 'Z9', 're_z9', 12.00, 'USD', 'stripe', '2026-03-03 10:00Z', 'pending', NULL, '{}'),
	  ('refund', 'X1', 're_x1', 5.00, 'EUR', 'stripe', '2026-03-04 00:00Z', 'pending', NULL, '{}')`)
	require.NoError(t, err)
	_, err = e.Exec(ctx, `ALTER TABLE public.orders ADD COLUMN refunded numeric NOT NULL DEFAULT 0;
	  UPDATE public.orders SET refunded = CASE id WHEN 'A1' THEN 110.00 WHEN 'M1' THEN 40 WHEN 'O1' THEN 70.00 ELSE 0 END`)
	require.NoError(t, err)
}

// netDigest prints the refunds section, one line per currency, flag and
// mismatched order.
func netDigest(f reconcile.Refunds) []string {
	var out []string
	for _, n := range f.Revenue {
		out = append(out, fmt.Sprintf("net %s conv=%d gross=%s refunds=%d refunded=%s net=%s sent=%d/%s",
			n.Currency, n.Conversions, n.Gross, n.Refunds, n.Refunded, n.Net, n.SentRefunds, n.Sent))
	}
	for _, x := range f.Flags {
		out = append(out, fmt.Sprintf("flag %s %s %d %s %v", x.Kind, x.Currency, x.Refunds, x.Amount, x.TransactionIDs))
	}
	for _, m := range f.Mismatched {
		out = append(out, fmt.Sprintf("order %s %s orders=%s outbox=%s", m.TransactionID, m.Currency, m.OrderRefunded, m.OutboxRefunded))
	}
	return append(out, fmt.Sprintf("orders checked=%t mismatched=%d", f.OrdersChecked, f.MismatchedTotal))
}

// TestRefunds: the fixture's refunds net out per currency and each lands in
// the flags its purchase and amounts call for. Gross is the summary's
// revenue without orders never enqueued (EUR 503.50 - 75.00, USD 516.99 -
// 30.00); refunds are not conversions, so every other section is as
// without them (TestReport's numbers).
func TestRefunds(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	r := build(t, tx, true)
	require.Equal(t, []string{
		"net EUR conv=13 gross=428.50 refunds=6 refunded=263.00 net=165.50 sent=0/0.00",
		"net USD conv=8 gross=486.99 refunds=1 refunded=12.00 net=474.99 sent=0/0.00",
		"flag purchase_not_enqueued USD 1 12.00 [Z9]",
		"flag purchase_not_sent EUR 1 33.00 [F1]",
		"flag purchase_skipped EUR 1 60.00 [D1]",
		"flag purchase_not_attributable EUR 1 40.00 [M1]",
		"flag exceeds_purchase EUR 2 110.00 [A1]",
		"flag currency_differs EUR 1 20.00 [A3]",
		"flag refund_not_sent EUR 6 263.00 [A1 A3 D1]",
		"flag refund_not_sent USD 1 12.00 [Z9]",
		"order A3 USD orders=0.00 outbox=20.00",
		"order O1 EUR orders=70.00 outbox=0.00",
		"orders checked=true mismatched=2",
	}, netDigest(r.Refunds))

	without := build(t, tx, false)
	require.False(t, without.Refunds.OrdersChecked, "no orders query, no orders check")
	require.Equal(t, r.Refunds.Revenue[0].Refunded, without.Refunds.Revenue[0].Refunded)
}

// A delivered refund counts as sent; a refund row written before its
// purchase row takes nothing from it and is flagged as not enqueued only
// while the purchase is missing.
func TestRefundsSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := setup(t)
	_, err := tx.Exec(ctx, `UPDATE ga4_outbox.events SET status = 'delivered', delivered_at = occurred_at + interval '1 minute'
		WHERE event_name = 'refund' AND refund_id IN ('re_a1_1', 're_z9')`)
	require.NoError(t, err)
	r := build(t, tx, false)
	require.Equal(t, "net EUR conv=13 gross=428.50 refunds=6 refunded=263.00 net=165.50 sent=1/30.00", netDigest(r.Refunds)[0])
	require.Equal(t, "net USD conv=8 gross=486.99 refunds=1 refunded=12.00 net=474.99 sent=1/12.00", netDigest(r.Refunds)[1])
	require.NotContains(t, netDigest(r.Refunds), "flag refund_not_sent USD 1 12.00 [Z9]")

	_, err = tx.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, occurred_at, status)
		VALUES ('Z9', 12.00, 'USD', '2026-03-03 09:00Z', 'delivered')`)
	require.NoError(t, err)
	r = build(t, tx, false)
	require.NotContains(t, netDigest(r.Refunds), "flag purchase_not_enqueued USD 1 12.00 [Z9]")
}

// An orders query without a refunded column reconciles the orders as
// before and skips the refunds check; an empty window of refunds shows no
// refunds sections in the text formats.
func TestRefundsOrdersQueryWithoutRefunded(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	opts := fixtureOptions(true)
	opts.OrdersQuery = `SELECT id AS transaction_id, total AS value, cur AS currency, paid_at AS occurred_at
FROM public.orders WHERE paid_at >= $1 AND paid_at < $2`
	r, err := reconcile.Build(context.Background(), tx, opts)
	require.NoError(t, err)
	require.True(t, r.Orders.Configured)
	require.False(t, r.Refunds.OrdersChecked)
	require.Empty(t, r.Refunds.Mismatched)
	require.NotEmpty(t, r.Refunds.Flags)

	_, err = tx.Exec(context.Background(), `DELETE FROM ga4_outbox.events WHERE event_name = 'refund'`)
	require.NoError(t, err)
	r, err = reconcile.Build(context.Background(), tx, opts)
	require.NoError(t, err)
	require.NotContains(t, render(t, r, reconcile.FormatTable), "Refunds")
	require.Equal(t, "net EUR conv=13 gross=428.50 refunds=0 refunded=0.00 net=428.50 sent=0/0.00", netDigest(r.Refunds)[0],
		"the JSON still nets (nothing) out")
}
