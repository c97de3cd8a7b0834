package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// maxClockSkew is how far the browser's session_event_at may lie from the
// server's clock before the server's own time is stored instead (a wrong
// device clock must not push the event out of its session).
const maxClockSkew = 5 * time.Minute

// checkoutRequest is what the browser posts: the cart plus the fields
// collectGa4Fields (web/ga4-ids.js) returns, spread at the top level.
type checkoutRequest struct {
	Cart struct {
		Items []struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		} `json:"items"`
	} `json:"cart"`
	ClientID                 *string `json:"client_id"`
	SessionID                *string `json:"session_id"`
	SessionEventAt           *string `json:"session_event_at"`
	ConsentAnalyticsStorage  *string `json:"consent_analytics_storage"`
	ConsentAdUserData        *string `json:"consent_ad_user_data"`
	ConsentAdPersonalization *string `json:"consent_ad_personalization"`
}

// orderItem is one line of an order, as stored in checkout_orders.items.
type orderItem struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceMinor int64  `json:"price_minor"`
	Quantity   int    `json:"quantity"`
}

type checkoutResponse struct {
	OrderID    int64  `json:"order_id"`
	Total      string `json:"total"`
	Currency   string `json:"currency"`
	PaymentRef string `json:"payment_metadata_order_id"`
}

func (a *App) handleCheckout(w http.ResponseWriter, r *http.Request) {
	var req checkoutRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		a.respond(w, r, 0, nil, badRequest("body: not a checkout request: %v", err))
		return
	}
	resp, err := a.checkout(r.Context(), &req)
	a.respond(w, r, http.StatusCreated, resp, err)
}

func (a *App) checkout(ctx context.Context, req *checkoutRequest) (*checkoutResponse, error) {
	items, total, err := a.priceCart(req)
	if err != nil {
		return nil, err
	}
	ids, err := a.gaFields(req)
	if err != nil {
		return nil, err
	}
	itemsJSON, _ := json.Marshal(items)
	var id int64
	err = a.cfg.Pool.QueryRow(ctx, `
INSERT INTO public.checkout_orders (currency, total_minor, items, ga_client_id, ga_session_id,
    consent_analytics_storage, consent_ad_user_data, consent_ad_personalization, session_event_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		a.cfg.Currency, total, itemsJSON, ids.clientID, ids.sessionID,
		ids.analytics, ids.adUserData, ids.adPersonalization, ids.sessionEventAt,
	).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("insert order: %w", err)
	}
	return &checkoutResponse{OrderID: id, Total: formatMinor(total), Currency: a.cfg.Currency,
		PaymentRef: fmt.Sprint(id)}, nil
}

func (a *App) priceCart(req *checkoutRequest) ([]orderItem, int64, error) {
	if len(req.Cart.Items) == 0 {
		return nil, 0, badRequest("cart.items: must not be empty")
	}
	items := make([]orderItem, 0, len(req.Cart.Items))
	var total int64
	for i, it := range req.Cart.Items {
		p, ok := a.cfg.Catalog[it.SKU]
		if !ok {
			return nil, 0, badRequest("cart.items[%d].sku: %q is not in the catalog", i, it.SKU)
		}
		if it.Quantity < 1 || it.Quantity > 100 {
			return nil, 0, badRequest("cart.items[%d].quantity: %d must be between 1 and 100", i, it.Quantity)
		}
		items = append(items, orderItem{SKU: it.SKU, Name: p.Name, PriceMinor: p.PriceMinor, Quantity: it.Quantity})
		total += p.PriceMinor * int64(it.Quantity)
	}
	return items, total, nil
}

// gaIDs are the browser fields as they are stored (nil = NULL, unknown).
type gaIDs struct {
	clientID, sessionID                      *string
	analytics, adUserData, adPersonalization *string
	sessionEventAt                           time.Time
}

var sessionIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)

// gaFields checks the ga4-ids.js fields. Missing ids are fine (the order is
// still stored and the audit reports the gap); malformed ones are refused.
func (a *App) gaFields(req *checkoutRequest) (*gaIDs, error) {
	ids := &gaIDs{clientID: nonEmpty(req.ClientID), sessionID: nonEmpty(req.SessionID)}
	if ids.sessionID != nil && !sessionIDRe.MatchString(*ids.sessionID) {
		return nil, badRequest("session_id: %q must be the digits gtag('get', ..., 'session_id') returns", *ids.sessionID)
	}
	for _, c := range []struct {
		name string
		in   *string
		out  **string
	}{
		{"consent_analytics_storage", req.ConsentAnalyticsStorage, &ids.analytics},
		{"consent_ad_user_data", req.ConsentAdUserData, &ids.adUserData},
		{"consent_ad_personalization", req.ConsentAdPersonalization, &ids.adPersonalization},
	} {
		v := nonEmpty(c.in)
		if v != nil && *v != outbox.ConsentGranted && *v != outbox.ConsentDenied {
			return nil, badRequest("%s: %q must be granted, denied or null", c.name, *v)
		}
		*c.out = v
	}
	ids.sessionEventAt = a.sessionEventAt(req.SessionEventAt)
	return ids, nil
}

// sessionEventAt is the browser's click time when it is close to the
// server's clock, else the server's time (also inside the session: the
// browser is waiting for this response).
func (a *App) sessionEventAt(browser *string) time.Time {
	now := a.cfg.Now()
	if browser == nil {
		return now
	}
	t, err := time.Parse(time.RFC3339Nano, *browser)
	if err != nil || t.Sub(now) > maxClockSkew || now.Sub(t) > maxClockSkew {
		return now
	}
	return t
}

func nonEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// formatMinor prints minor units as a decimal with two places: 1250 -> "12.50".
func formatMinor(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}
