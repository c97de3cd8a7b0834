package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// An order and its conversion commit together: if the order's transaction
// rolls back, no conversion is sent. A retried webhook enqueues nothing new.
func ExampleEnqueue() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, exampleDatabaseURL)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, status text NOT NULL)`)

	paymentWebhook := func(orderID string) (outbox.EnqueueResult, error) {
		var res outbox.EnqueueResult
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO orders VALUES ($1, 'paid') ON CONFLICT (id) DO UPDATE SET status = 'paid'`, orderID); err != nil {
				return err
			}
			var err error
			res, err = outbox.Enqueue(ctx, tx, outbox.Conversion{
				EventName:        "purchase",
				TransactionID:    orderID,
				Value:            "49.90",
				Currency:         "EUR",
				Items:            []outbox.Item{{ItemID: "SKU-1", ItemName: "Mug", Price: "24.95", Quantity: 2}},
				ClientID:         "1197596843.1673515099", // gtag('get', ..., 'client_id') at checkout
				SessionID:        "1747132561",            // gtag('get', ..., 'session_id') at checkout
				AnalyticsStorage: outbox.ConsentGranted,
				SessionEventAt:   time.Date(2025, 5, 13, 10, 40, 0, 0, time.UTC), // checkout click
				Source:           "payment_webhook",
			})
			return err
		})
		return res, err
	}

	first, err := paymentWebhook("A-1001")
	if err != nil {
		panic(err)
	}
	retried, err := paymentWebhook("A-1001") // the provider retries its webhook
	if err != nil {
		panic(err)
	}
	fmt.Println("first enqueue duplicate:", first.Duplicate)
	fmt.Println("retried enqueue duplicate:", retried.Duplicate, "same row:", retried.ID == first.ID)
	// Output:
	// first enqueue duplicate: false
	// retried enqueue duplicate: true same row: true
}

// Enqueue refuses a programmer error before it writes anything; Validate
// runs the same checks without a database, e.g. at the API boundary.
func ExampleConversion_Validate() {
	c := outbox.Conversion{EventName: "purchase", TransactionID: "A-1002", Value: "49,90", Currency: "EUR"}
	var fe *outbox.FieldError
	if err := c.Validate(); errors.As(err, &fe) {
		fmt.Println(fe.Field + ":")
		fmt.Println(err)
	}
	// Output:
	// Value:
	// outbox: conversion Value: "49,90" must be a decimal number such as 49.90
}
