// Command checkout is an example shop that shows how an application feeds
// ga4-outbox:
//
//  1. POST /checkout receives the cart plus the fields web/ga4-ids.js
//     collects in the browser (client_id, session_id, consent and the
//     in-session click time) and stores them WITH the order.
//  2. POST /webhooks/stripe receives Stripe's payment_intent.succeeded,
//     verifies its Stripe-Signature, and in ONE transaction marks the order
//     paid and calls outbox.Enqueue. A retried webhook enqueues nothing new.
//  3. The ga4-outbox sidecar ("ga4-outbox run") delivers the purchase to
//     GA4 with the browser's ids and the in-session timestamp.
//
// Environment: DATABASE_URL (the shop's database; run "ga4-outbox migrate
// up" against it first), STRIPE_WEBHOOK_SECRET (whsec_...), ADDR (default
// 127.0.0.1:8080), SHOP_CURRENCY (default EUR).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(ctx, logger, os.Getenv); err != nil {
		logger.Error("checkout example stopped", "err", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, logger *slog.Logger, getenv func(string) string) error {
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" {
		return errors.New("DATABASE_URL is required (the shop's database, migrated with ga4-outbox migrate up)")
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return errors.New("DATABASE_URL cannot be parsed")
	}
	defer pool.Close()
	if err := EnsureSchema(ctx, pool); err != nil {
		return err
	}
	app, err := NewApp(Config{Pool: pool, WebhookSecret: getenv("STRIPE_WEBHOOK_SECRET"),
		Currency: getenv("SHOP_CURRENCY"), Logger: logger})
	if err != nil {
		return err
	}
	addr := cmpOr(getenv("ADDR"), "127.0.0.1:8080")
	srv := &http.Server{Addr: addr, Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("checkout example listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
