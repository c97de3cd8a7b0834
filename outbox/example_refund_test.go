package outbox_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// A payment provider refunds one order twice, in part, and retries its
// webhook for the first refund: each refund id is one row. The refunds
// take the order's client id and consent from its purchase row.
func ExampleEnqueueRefund() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, exampleDatabaseURL)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
	if _, err := outbox.Enqueue(ctx, conn, outbox.Conversion{
		EventName: "purchase", TransactionID: "A-2001", Value: "49.90", Currency: "EUR",
		Items:    []outbox.Item{{ItemID: "SKU-1", ItemName: "Mug", Price: "24.95", Quantity: 2}},
		ClientID: "1197596843.1673515099", AnalyticsStorage: outbox.ConsentGranted,
	}); err != nil {
		panic(err)
	}

	refundWebhook := func(refundID string) outbox.EnqueueResult {
		var res outbox.EnqueueResult
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			res, err = outbox.EnqueueRefund(ctx, tx, outbox.Refund{
				TransactionID: "A-2001",
				RefundID:      refundID, // the provider's refund id, e.g. Stripe's re_...
				Value:         "24.95",
				Currency:      "EUR",
				Items:         []outbox.Item{{ItemID: "SKU-1", Price: "24.95", Quantity: 1}},
				Source:        "stripe_webhook",
			})
			return err
		})
		if err != nil {
			panic(err)
		}
		return res
	}
	first := refundWebhook("re_1")
	second := refundWebhook("re_2")
	retried := refundWebhook("re_1")
	fmt.Println("second refund is a new row:", !second.Duplicate && second.ID != first.ID)
	fmt.Println("retried webhook duplicate:", retried.Duplicate, "same row:", retried.ID == first.ID)

	var clientID, consent string
	if err := conn.QueryRow(ctx, `SELECT client_id, consent_analytics_storage FROM ga4_outbox.events WHERE id = $1`,
		second.ID).Scan(&clientID, &consent); err != nil {
		panic(err)
	}
	fmt.Println("from the purchase:", clientID, consent)
	// Output:
	// second refund is a new row: true
	// retried webhook duplicate: true same row: true
	// from the purchase: 1197596843.1673515099 granted
}
