package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// cell is one group of aggregateSQL: conversions of one currency, source,
// day, bucket, reason and stuck flag.
type cell struct {
	currency, source, day, bucket, detail string
	pending, stuck                        bool // pending by status; stuck: pending and old
	n                                     int64
	revenue                               Amount
	txMin, txMax                          string
	oldest                                time.Time
}

type aggregation struct{ cells []cell }

func aggregate(ctx context.Context, tx pgx.Tx, since, until, stuckBefore time.Time) (*aggregation, error) {
	rows, err := tx.Query(ctx, aggregateSQL, since, until, stuckBefore)
	if err != nil {
		return nil, fmt.Errorf("aggregate window: %w", err)
	}
	cells, err := pgx.CollectRows(rows, scanCell)
	if err != nil {
		return nil, fmt.Errorf("aggregate window: %w", err)
	}
	return &aggregation{cells: cells}, nil
}

func scanCell(row pgx.CollectableRow) (cell, error) {
	var c cell
	var day time.Time
	var revenue, bucketReason string
	var currency *string
	var stuck *bool
	err := row.Scan(&currency, &c.source, &day, &bucketReason, &stuck, &c.n, &revenue, &c.txMin, &c.txMax, &c.oldest)
	if err != nil {
		return c, err
	}
	c.currency = currencyKey(currency)
	c.pending, c.stuck = stuck != nil, stuck != nil && *stuck
	c.bucket, c.detail, _ = strings.Cut(bucketReason, ":")
	c.day = day.Format(time.DateOnly)
	c.revenue, err = ParseAmount(revenue)
	return c, err
}

// bucketSet accumulates the buckets of one summary, source or day line.
type bucketSet struct {
	n       int64
	revenue Amount
	buckets map[string]*bucketAcc
}

type bucketAcc struct {
	Count
	reasons map[string]*Count
	stuck   Count
}

func (s *bucketSet) add(bucket, detail string, n int64, revenue Amount, stuck Count) {
	if s.buckets == nil {
		s.buckets = map[string]*bucketAcc{}
	}
	b := s.buckets[bucket]
	if b == nil {
		b = &bucketAcc{reasons: map[string]*Count{}}
		s.buckets[bucket] = b
	}
	s.n, s.revenue = s.n+n, s.revenue.Add(revenue)
	b.Conversions, b.Revenue = b.Conversions+n, b.Revenue.Add(revenue)
	if detail != "" {
		r := b.reasons[detail]
		if r == nil {
			r = &Count{}
			b.reasons[detail] = r
		}
		r.Conversions, r.Revenue = r.Conversions+n, r.Revenue.Add(revenue)
	}
	b.stuck.Conversions, b.stuck.Revenue = b.stuck.Conversions+stuck.Conversions, b.stuck.Revenue.Add(stuck.Revenue)
}

// list returns every bucket in precedence order (zeros included), without
// not_enqueued unless withOrders.
func (s *bucketSet) list(withOrders bool) []Bucket {
	out := make([]Bucket, 0, len(Buckets))
	for _, name := range Buckets {
		if name == BucketNotEnqueued && !withOrders {
			continue
		}
		b := Bucket{Bucket: name, Reasons: []Reason{}}
		if acc := s.buckets[name]; acc != nil {
			b.Conversions, b.Revenue = acc.Conversions, acc.Revenue
			for reason, c := range acc.reasons {
				b.Reasons = append(b.Reasons, Reason{Reason: reason, Conversions: c.Conversions, Revenue: c.Revenue})
			}
			slices.SortFunc(b.Reasons, func(x, y Reason) int {
				return cmp.Or(cmp.Compare(y.Conversions, x.Conversions), cmp.Compare(x.Reason, y.Reason))
			})
		}
		if name == BucketPending {
			st := Count{}
			if acc := s.buckets[name]; acc != nil {
				st = acc.stuck
			}
			b.Stuck = &st
		}
		out = append(out, b)
	}
	return out
}

// share is attributable revenue over revenue less consent_denied revenue.
func (s *bucketSet) share() *float64 {
	get := func(name string) Amount {
		if b := s.buckets[name]; b != nil {
			return b.Revenue
		}
		return Amount{}
	}
	return shareOf(get(BucketAttributable), s.revenue.Sub(get(BucketConsentDenied)))
}

type key struct{ a, b string }

// fill folds the cells (and the orders result) into the report's sections.
func (g *aggregation) fill(r *Report, orders *ordersResult, examples int, now time.Time) {
	summary := map[string]*bucketSet{}
	bySource, byDay := map[key]*bucketSet{}, map[key]*bucketSet{}
	ex := map[string][]string{}
	for _, c := range g.cells {
		for _, s := range []*bucketSet{
			get(summary, c.currency), get(bySource, key{c.source, c.currency}), get(byDay, key{c.day, c.currency}),
		} {
			s.add(c.bucket, c.detail, c.n, c.revenue, stuckPart(c))
		}
		if c.pending {
			pending(&r.Health, c, now)
		}
		if c.bucket != BucketPending || c.stuck { // for pending the problem is the stuck part
			ex[c.bucket] = append(ex[c.bucket], c.txMin, c.txMax)
		}
	}
	if orders != nil {
		r.Orders = orders.Orders
		for _, cc := range orders.NotEnqueued {
			get(summary, cc.Currency).add(BucketNotEnqueued, "", cc.Conversions, cc.Revenue, Count{})
		}
		ex[BucketNotEnqueued] = orders.examples
	} else {
		r.Orders = Orders{NotEnqueued: []CurrencyCount{}, Mismatched: []Mismatch{}}
	}
	r.Summary = summaries(summary, orders != nil)
	r.BySource = rowsOf(bySource)
	slices.SortStableFunc(r.BySource, worstFirst)
	r.ByDay = rowsOf(byDay)
	r.Examples = examplesOf(ex, examples)
	r.fillHeadline()
	r.applyCurrencies()
}

func get[K comparable](m map[K]*bucketSet, k K) *bucketSet {
	s := m[k]
	if s == nil {
		s = &bucketSet{}
		m[k] = s
	}
	return s
}

// stuckPart returns the stuck part of a pending-bucket cell: all of it or
// nothing. (Stuck rows of other buckets count in the health section only.)
func stuckPart(c cell) Count {
	if !c.stuck || c.bucket != BucketPending {
		return Count{}
	}
	return Count{Conversions: c.n, Revenue: c.revenue}
}

// pending adds a pending cell to the health section.
func pending(h *Health, c cell, now time.Time) {
	h.Pending += c.n
	if c.stuck {
		h.Stuck += c.n
	}
	h.OldestPendingAgeSeconds = max(h.OldestPendingAgeSeconds, int64(now.Sub(c.oldest)/time.Second))
}

func summaries(m map[string]*bucketSet, withOrders bool) []CurrencySummary {
	out := make([]CurrencySummary, 0, len(m))
	for cur, s := range m {
		cs := CurrencySummary{Currency: cur, Conversions: s.n, Revenue: s.revenue,
			AttributableShare: s.share(), Buckets: s.list(withOrders)}
		if b := s.buckets[BucketMissingSessionID]; b != nil {
			cs.RevenueAtRisk = b.Revenue
		}
		out = append(out, cs)
	}
	slices.SortFunc(out, func(a, b CurrencySummary) int { return cmp.Compare(a.Currency, b.Currency) })
	return out
}

func rowsOf(m map[key]*bucketSet) []Row {
	out := make([]Row, 0, len(m))
	for k, s := range m {
		out = append(out, Row{Key: k.a, Currency: k.b, Conversions: s.n, Revenue: s.revenue,
			AttributableShare: s.share(), Buckets: s.list(false)})
	}
	slices.SortFunc(out, func(a, b Row) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Currency, b.Currency)) })
	return out
}

// worstFirst orders by attributable share (lowest first, no share last),
// then by conversions lost to missing ids or lateness.
func worstFirst(a, b Row) int {
	switch {
	case a.AttributableShare == nil && b.AttributableShare != nil:
		return 1
	case a.AttributableShare != nil && b.AttributableShare == nil:
		return -1
	case a.AttributableShare != nil && *a.AttributableShare != *b.AttributableShare:
		return cmp.Compare(*a.AttributableShare, *b.AttributableShare)
	}
	return cmp.Compare(lost(b), lost(a))
}

func lost(r Row) int64 {
	var n int64
	for _, b := range r.Buckets {
		if b.Bucket == BucketMissingSessionID || b.Bucket == BucketMissingClientID || b.Bucket == BucketLate {
			n += b.Conversions
		}
	}
	return n
}

func examplesOf(ex map[string][]string, n int) []Example {
	out := []Example{}
	if n <= 0 {
		return out
	}
	for _, b := range problemBuckets {
		ids := slices.DeleteFunc(ex[b], func(s string) bool { return s == "" })
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) == 0 {
			continue
		}
		out = append(out, Example{Bucket: b, TransactionIDs: ids[:min(n, len(ids))]})
	}
	return out
}

func roundTo(f float64, decimals int) float64 {
	p := 1.0
	for range decimals {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}
