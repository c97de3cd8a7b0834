package reconcile

import (
	"cmp"
	"slices"
)

// topCauses is the number of causes the headline names per currency.
const topCauses = 3

// fillHeadline sets each currency's revenue not attributable, its share
// and its largest causes by source, from the sections already filled.
func (r *Report) fillHeadline() {
	for i := range r.Summary {
		s := &r.Summary[i]
		var consent, lost Amount
		for _, b := range s.Buckets {
			switch b.Bucket {
			case BucketAttributable:
			case BucketConsentDenied:
				consent = b.Revenue
			default:
				lost = lost.Add(b.Revenue)
			}
		}
		s.NotAttributable = lost
		s.NotAttributableShare = Share(lost, s.Revenue.Sub(consent))
		s.TopCauses = r.causes(s.Currency, topCauses)
	}
}

// causes lists the problem buckets of each source in currency, and the
// orders never enqueued, most revenue first (then most conversions), at
// most n.
func (r *Report) causes(currency string, n int) []Cause {
	out := []Cause{}
	for _, row := range r.BySource {
		if row.Currency != currency {
			continue
		}
		for _, b := range row.Buckets {
			if b.Conversions > 0 && slices.Contains(problemBuckets, b.Bucket) {
				out = append(out, Cause{Source: row.Key, Bucket: b.Bucket, Conversions: b.Conversions, Revenue: b.Revenue})
			}
		}
	}
	for _, c := range r.Orders.NotEnqueued {
		if c.Currency == currency && c.Conversions > 0 {
			out = append(out, Cause{Bucket: BucketNotEnqueued, Conversions: c.Conversions, Revenue: c.Revenue})
		}
	}
	slices.SortStableFunc(out, func(a, b Cause) int {
		return cmp.Or(b.Revenue.cmp(a.Revenue), cmp.Compare(b.Conversions, a.Conversions),
			cmp.Compare(a.Source, b.Source), cmp.Compare(slices.Index(Buckets, a.Bucket), slices.Index(Buckets, b.Bucket)))
	})
	return out[:min(n, len(out))]
}

// applyCurrencies prints every amount of a currency with one number of
// decimals: the currency's minor units, or more when some amount needs
// them to stay exact. One column never mixes 756.5 and 827.40.
func (r *Report) applyCurrencies() {
	scale := map[string]int{}
	r.eachAmount(func(cur string, a *Amount) {
		if _, ok := scale[cur]; !ok {
			scale[cur] = decimals(cur)
		}
		scale[cur] = max(scale[cur], a.exactScale())
	})
	r.eachAmount(func(cur string, a *Amount) { a.scale = scale[cur] })
}

// eachAmount calls fn with every amount of the report and its currency.
func (r *Report) eachAmount(fn func(currency string, a *Amount)) {
	buckets := func(cur string, bs []Bucket) {
		for i := range bs {
			b := &bs[i]
			fn(cur, &b.Revenue)
			for j := range b.Reasons {
				fn(cur, &b.Reasons[j].Revenue)
			}
			if b.Stuck != nil {
				fn(cur, &b.Stuck.Revenue)
			}
		}
	}
	for i := range r.Summary {
		s := &r.Summary[i]
		for _, a := range []*Amount{&s.Revenue, &s.RevenueAtRisk, &s.NotAttributable} {
			fn(s.Currency, a)
		}
		for j := range s.TopCauses {
			fn(s.Currency, &s.TopCauses[j].Revenue)
		}
		buckets(s.Currency, s.Buckets)
	}
	for _, rows := range [][]Row{r.BySource, r.ByDay} {
		for i := range rows {
			fn(rows[i].Currency, &rows[i].Revenue)
			buckets(rows[i].Currency, rows[i].Buckets)
		}
	}
	for i := range r.Orders.NotEnqueued {
		fn(r.Orders.NotEnqueued[i].Currency, &r.Orders.NotEnqueued[i].Revenue)
	}
}
