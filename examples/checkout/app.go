package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed schema.sql
var schemaSQL string

// EnsureSchema creates the shop's checkout_orders table when it is missing.
// The ga4_outbox schema itself comes from "ga4-outbox migrate up".
func EnsureSchema(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, schemaSQL); err != nil {
		return fmt.Errorf("create checkout_orders: %w", err)
	}
	return nil
}

// Product is one thing the shop sells. Prices are in minor units (cents) of
// the shop's currency, which must have two decimals (EUR, USD, GBP...).
type Product struct {
	Name       string
	PriceMinor int64
}

// DefaultCatalog is the example shop's catalog.
var DefaultCatalog = map[string]Product{
	"MUG-01":  {Name: "Outbox mug", PriceMinor: 1250},
	"TEE-01":  {Name: "Attribution T-shirt", PriceMinor: 2490},
	"BOOK-01": {Name: "Measurement Protocol field guide", PriceMinor: 3900},
}

// Config is the example app's configuration.
type Config struct {
	// Pool is the application's database, which also holds the ga4_outbox
	// schema (migrated by ga4-outbox). Required.
	Pool *pgxpool.Pool
	// WebhookSecret is the Stripe endpoint's signing secret (whsec_...).
	// Required.
	WebhookSecret string
	// Currency is the shop's currency. Defaults to EUR.
	Currency string
	// Catalog defaults to DefaultCatalog.
	Catalog map[string]Product
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// App is the example shop: a checkout API and a payment webhook.
type App struct {
	cfg Config
}

// NewApp checks cfg and fills its defaults.
func NewApp(cfg Config) (*App, error) {
	if cfg.Pool == nil {
		return nil, fmt.Errorf("checkout app: Pool is required")
	}
	if cfg.WebhookSecret == "" {
		return nil, fmt.Errorf("checkout app: WebhookSecret is required (STRIPE_WEBHOOK_SECRET)")
	}
	if cfg.Currency == "" {
		cfg.Currency = "EUR"
	}
	if cfg.Catalog == nil {
		cfg.Catalog = DefaultCatalog
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &App{cfg: cfg}, nil
}

// Handler routes POST /checkout and POST /webhooks/stripe.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", a.handleCheckout)
	mux.HandleFunc("POST /webhooks/stripe", a.handleStripeWebhook)
	return mux
}

// httpError is an error with the status code the client gets.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// respond writes v as JSON, or err as {"error": ...} with its status (500
// for unexpected errors, whose text is logged and not shown).
func (a *App) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		he, ok := err.(*httpError)
		if !ok {
			a.cfg.Logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
			he = &httpError{http.StatusInternalServerError, "internal error"}
		}
		status, v = he.status, map[string]string{"error": he.msg}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
