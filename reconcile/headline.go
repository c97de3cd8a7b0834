package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
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
		s.NotAttributableShare = shareOf(lost, s.Revenue.Sub(consent))
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
	r.Credited.eachAmount(fn)
}

// causeText says what each problem bucket did to the revenue, after the
// amount: "payment_webhook: 12,196.15 EUR without session_id".
var causeText = map[string]string{
	BucketMissingSessionID: "without session_id",
	BucketMissingClientID:  "without a valid client_id",
	BucketLate:             "sent too late for its session",
	BucketInvalid:          "skipped as invalid",
	BucketExpired:          "expired unsent (older than 72h)",
	BucketFailed:           "failed to send",
	BucketPending:          "still pending",
	BucketNotEnqueued:      "never enqueued",
}

// ordersSource names the cause of orders never enqueued, which have no
// source.
const ordersSource = "orders query"

// headline is one currency's headline in words.
type headline struct {
	currency, lost, base string // amounts with thousands separators
	share                string // "66.07%", "n/a"
	credited             string // attributable as sent beside credited by GA4; "" without outcomes
	causes               []string
}

// lead is the headline's first line: "EUR 293.00 of 443.50 not
// attributable (66.07%)".
func (h headline) lead() string {
	return fmt.Sprintf("%s %s of %s not attributable (%s)", h.currency, h.lost, h.base, h.share)
}

// headlines are the report's opening lines: per currency, the revenue
// not attributable, its share and the top causes with their source.
// The compact layout clips sources to clipCauseSource runes there.
func (r *Report) headlines(l layout) []headline {
	out := make([]headline, 0, len(r.Summary))
	for _, s := range r.Summary {
		cur := l.currency(s.Currency)
		h := headline{currency: cur, lost: s.NotAttributable.grouped(), base: s.attributableBase().grouped(),
			share: pct(s.NotAttributableShare), credited: r.creditedHeadline(s)}
		for _, c := range s.TopCauses {
			src, unit := l.clip(c.Source, clipCauseSource), "conversion"
			if c.Bucket == BucketNotEnqueued {
				src, unit = ordersSource, "order"
			}
			h.causes = append(h.causes, fmt.Sprintf("%s: %s %s %s (%s)", src, c.Revenue.grouped(), cur,
				causeText[c.Bucket], plural(c.Conversions, unit)))
		}
		out = append(out, h)
	}
	return out
}

// attributableBase is the revenue that could be attributed: revenue less
// consent_denied revenue.
func (s CurrencySummary) attributableBase() Amount {
	return s.Revenue.Sub(bucketOf(s.Buckets, BucketConsentDenied).Revenue)
}

// headlineTitle heads the headline in every format.
const headlineTitle = "Revenue GA4 cannot attribute to the session that earned it"

// headlineNote explains the headline's share.
const headlineNote = "Every cause counts (missing ids, late, invalid, expired, failed, pending, never enqueued);" +
	" the share is of revenue less consent_denied."

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}
