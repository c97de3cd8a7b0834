package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/outbox"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// Refund is one generated refund and its amount in cents.
type Refund struct {
	Refund   outbox.Refund
	Currency string
	Cents    int64
}

// RefundsExpected is what the report's refunds section must say: per
// currency the refunds and their amount (all sent), and how many refunds
// carry each flag.
type RefundsExpected struct {
	PerCurrency map[string]Tally
	Flags       map[string]int64
}

// GenerateRefunds picks the day's refunds among the generated orders, with
// a generator of its own (the orders and their expectation stay as they
// are): a whole-order refund without value (the purchase's value is taken
// at insert) for about 3 % of the attributable orders, two partial refunds
// (30 % and 20 %) for about 2 %, and one refund of a bank transfer whose
// purchase was never sent (expired), which the report flags. Each refund
// happens minutes after its order, inside the report's window.
func GenerateRefunds(orders []Order, opts Options) ([]Refund, RefundsExpected) {
	seed := cmpSeed(opts.Seed) + 1
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	end := opts.End.UTC().Truncate(time.Second)
	var out []Refund
	want := RefundsExpected{PerCurrency: map[string]Tally{}, Flags: map[string]int64{}}
	add := func(o *Order, id, value string, cents int64, items []outbox.Item) {
		at := o.Conversion.OccurredAt.Add(time.Duration(5+r.IntN(60)) * time.Minute)
		if !at.Before(end) {
			at = end.Add(-time.Second)
		}
		out = append(out, Refund{Currency: o.Conversion.Currency, Cents: cents, Refund: outbox.Refund{
			TransactionID: o.Conversion.TransactionID, RefundID: id, Value: value, Currency: currencyIf(value, o.Conversion.Currency),
			Items: items, OccurredAt: at, Source: "payment_refund"}})
		t := want.PerCurrency[o.Conversion.Currency]
		t.Conversions, t.Cents = t.Conversions+1, t.Cents+cents
		want.PerCurrency[o.Conversion.Currency] = t
	}
	expiredDone := false
	for i := range orders {
		o := &orders[i]
		switch u := r.Float64(); {
		case o.Bucket == reconcile.BucketExpired && !expiredDone:
			expiredDone = true
			add(o, "re_"+o.Conversion.TransactionID, o.Conversion.Value, o.Cents, nil)
			want.Flags[reconcile.RefundPurchaseSkipped]++
		case o.Bucket != reconcile.BucketAttributable:
		case u < 0.03:
			add(o, "re_"+o.Conversion.TransactionID, "", o.Cents, nil)
		case u < 0.05:
			for n, pct := range []int64{30, 20} {
				cents := o.Cents * pct / 100
				item := o.Conversion.Items[0]
				item.Price = FormatCents(cents)
				add(o, fmt.Sprintf("re_%s_%d", o.Conversion.TransactionID, n+1), FormatCents(cents), cents, []outbox.Item{item})
			}
		}
	}
	return out, want
}

func cmpSeed(s uint64) uint64 {
	if s == 0 {
		return 20260314
	}
	return s
}

// currencyIf is currency when value is set: a refund without value takes
// both from its purchase.
func currencyIf(value, currency string) string {
	if value == "" {
		return ""
	}
	return currency
}

// EnqueueRefunds writes the refunds with outbox.EnqueueRefund, as the
// application's refund webhook would, in one transaction.
func EnqueueRefunds(ctx context.Context, pool *pgxpool.Pool, refunds []Refund) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, r := range refunds {
			if _, err := outbox.EnqueueRefund(ctx, tx, r.Refund); err != nil {
				return fmt.Errorf("refund %s of %s: %w", r.Refund.RefundID, r.Refund.TransactionID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue demo refunds: %w", err)
	}
	return nil
}

// Check compares the report's refunds section with the expectation and
// returns one line per difference (nil when they agree): per currency the
// refunds, their amount and the part sent (all of them), and the refunds
// per flag.
func (want RefundsExpected) Check(r *reconcile.Report) []string {
	var diffs []string
	got := map[string]reconcile.NetRevenue{}
	for _, n := range r.Refunds.Revenue {
		got[n.Currency] = n
	}
	currencies := make([]string, 0, len(got)+len(want.PerCurrency))
	for c := range want.PerCurrency {
		currencies = append(currencies, c)
	}
	for c := range got {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	for _, c := range slices.Compact(currencies) {
		w, g := want.PerCurrency[c], got[c]
		wantRev, _ := reconcile.ParseAmount(FormatCents(w.Cents))
		if w.Conversions != g.Refunds || g.SentRefunds != g.Refunds || !wantRev.Sub(g.Refunded).IsZero() || !wantRev.Sub(g.Sent).IsZero() {
			diffs = append(diffs, fmt.Sprintf("%s refunds: generated %d / %s, all to be sent; report says %d / %s, %d / %s sent",
				c, w.Conversions, FormatCents(w.Cents), g.Refunds, g.Refunded, g.SentRefunds, g.Sent))
		}
	}
	flags := map[string]int64{}
	for _, f := range r.Refunds.Flags {
		flags[f.Kind] += f.Refunds
	}
	for _, kind := range reconcile.RefundKinds {
		if want.Flags[kind] != flags[kind] {
			diffs = append(diffs, fmt.Sprintf("refunds flagged %s: generated %d, report says %d", kind, want.Flags[kind], flags[kind]))
		}
	}
	return diffs
}

// Total returns the number of refunds.
func (want RefundsExpected) Total() int64 {
	var n int64
	for _, t := range want.PerCurrency {
		n += t.Conversions
	}
	return n
}
