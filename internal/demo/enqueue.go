package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/outbox"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// enqueueBatch is the number of orders enqueued per transaction.
const enqueueBatch = 200

// Enqueue writes the orders to the outbox with outbox.Enqueue, as an
// application would, enqueueBatch orders per transaction.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, orders []Order) error {
	for start := 0; start < len(orders); start += enqueueBatch {
		chunk := orders[start:min(start+enqueueBatch, len(orders))]
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for i := range chunk {
				if _, err := outbox.Enqueue(ctx, tx, chunk[i].Conversion); err != nil {
					return fmt.Errorf("order %s: %w", chunk[i].Conversion.TransactionID, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("enqueue demo orders: %w", err)
		}
	}
	return nil
}

// Check compares the report's per-currency buckets with the expectation and
// returns one line per difference (nil when they agree).
func (want Expected) Check(r *reconcile.Report) []string {
	type seen struct {
		n   int64
		rev reconcile.Amount
	}
	got := map[Key]seen{}
	gotKeys := Expected{}
	for _, s := range r.Summary {
		for _, b := range s.Buckets {
			if b.Conversions != 0 || !b.Revenue.IsZero() {
				k := Key{s.Currency, b.Bucket}
				got[k], gotKeys[k] = seen{b.Conversions, b.Revenue}, Tally{}
			}
		}
	}
	var diffs []string
	for _, k := range want.union(gotKeys) {
		w, g := want[k], got[k]
		wantRev, _ := reconcile.ParseAmount(FormatCents(w.Cents))
		if w.Conversions != g.n || !wantRev.Sub(g.rev).IsZero() {
			diffs = append(diffs, fmt.Sprintf("%s %s: generated %d conversions / %s, report says %d / %s",
				k.Currency, k.Bucket, w.Conversions, FormatCents(w.Cents), g.n, g.rev))
		}
	}
	return diffs
}

// Keys returns the expectation's keys by currency, then in the report's
// bucket order.
func (want Expected) Keys() []Key { return want.union(nil) }

func (want Expected) union(other Expected) []Key {
	var keys []Key
	for k := range want {
		keys = append(keys, k)
	}
	for k := range other {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := strings.Compare(a.Currency, b.Currency); c != 0 {
			return c
		}
		return slices.Index(reconcile.Buckets, a.Bucket) - slices.Index(reconcile.Buckets, b.Bucket)
	})
	return keys
}

// Total returns the number of orders and revenue per currency.
func (want Expected) Total(currency string) Tally {
	var t Tally
	for k, v := range want {
		if k.Currency == currency {
			t.Conversions += v.Conversions
			t.Cents += v.Cents
		}
	}
	return t
}

// FormatCents prints cents as a decimal with two places: 1250 -> "12.50".
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
