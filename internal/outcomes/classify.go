package outcomes

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Order is one of our purchases as the classifier needs it.
type Order struct {
	TransactionID string
	// OrderedAt is the business time (the events row's occurred_at): the
	// outcome is final once it is FinalAfter old.
	OrderedAt time.Time
	// Currency is our order's currency, compared with GA4's only to say
	// that the revenues are in different currencies.
	Currency string
}

// Result is the outcome of one order: a row of ga4_outbox.outcomes.
type Result struct {
	Outcome Outcome
	// Detail says why an outcome is indeterminate, how a duplicate is
	// split, or what else the reader must know; empty when nothing.
	Detail string
	// Final is false (provisional) until the order is FinalAfter old.
	Final bool
	// Channel, SourceMedium and Campaign are the session's, from the row
	// with the most purchases; empty when GA4 has no purchase.
	Channel, SourceMedium, Campaign string
	// Revenue is GA4's purchase revenue (a decimal string; empty when GA4
	// has no purchase) in Currency, the property's currency.
	Revenue  string
	Currency string
	// Purchases is the number of purchases GA4 counts; nil when unknown
	// (indeterminate).
	Purchases *int64
}

// Classify decides the outcome of order from the rows GA4 returned for its
// transaction id (rows of other ids are ignored) and from the flags of the
// answer they came in. It is a pure function: now is the clock, finalAfter
// (DefaultFinalAfter when zero) the age at which the outcome is final.
//
//   - more than one purchase: duplicate;
//   - one purchase: direct, unassigned, not_set ("(not set)" or empty), or
//     credited for any other channel;
//   - no purchase: not_found, unless rows may be missing from the answer
//     (folded into "(other)", thresholded, sampled): indeterminate.
//
// Rows without a purchase (a refund of the id, say) never make a purchase.
func Classify(order Order, rows []Row, a *Answer, now time.Time, finalAfter time.Duration) Result {
	if a == nil {
		a = &Answer{}
	}
	finalAfter = cmp.Or(finalAfter, DefaultFinalAfter)
	res := Result{Final: now.Sub(order.OrderedAt) >= finalAfter}
	var bought []Row
	for _, r := range rows {
		if r.TransactionID == order.TransactionID && r.Purchases > 0 {
			bought = append(bought, r)
		}
	}
	if len(bought) == 0 {
		absent(&res, a, len(rows) > 0 && hasID(rows, order.TransactionID))
		return res
	}
	found(&res, order, bought, a)
	return res
}

func hasID(rows []Row, id string) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { return r.TransactionID == id })
}

// absent classifies an order without a purchase row.
func absent(res *Result, a *Answer, otherRows bool) {
	var why []string
	if a.DataLossFromOtherRow {
		why = append(why, `rows folded into "(other)"`)
	}
	if a.Thresholded {
		why = append(why, "thresholding")
	}
	if a.Sampled {
		why = append(why, "sampling")
	}
	if len(why) > 0 && !otherRows {
		res.Outcome = Indeterminate
		res.Detail = "not in GA4's answer, which may be missing rows: " + strings.Join(why, ", ")
		return
	}
	zero := int64(0)
	res.Outcome, res.Purchases = NotFound, &zero
	if otherRows {
		res.Detail = "GA4 has the transaction id but no purchase event for it (a refund alone?)"
	}
}

// found classifies an order with at least one purchase row.
func found(res *Result, order Order, bought []Row, a *Answer) {
	// The row with the most purchases names the channel; MaxFunc keeps the
	// first of equals, so ties go to GA4's order.
	top := slices.MaxFunc(bought, func(x, y Row) int { return cmp.Compare(x.Purchases, y.Purchases) })
	res.Channel, res.SourceMedium, res.Campaign = top.Channel, top.SourceMedium, top.Campaign
	var n int64
	revenues := make([]string, len(bought))
	for i, r := range bought {
		n += r.Purchases
		revenues[i] = r.Revenue
	}
	res.Purchases, res.Currency = &n, a.Currency
	var notes []string
	if rev, err := sumDecimals(revenues); err != nil {
		notes = append(notes, err.Error())
	} else {
		res.Revenue = rev
	}
	res.Outcome = ChannelOutcome(top.Channel)
	if n > 1 {
		res.Outcome = Duplicate
		notes = append(notes, fmt.Sprintf("%d purchases in GA4 (%s)", n, channels(bought)))
	}
	if a.Sampled {
		notes = append(notes, "sampled: GA4's figures are estimates")
	}
	if order.Currency != "" && a.Currency != "" && order.Currency != a.Currency {
		notes = append(notes, fmt.Sprintf("GA4's revenue is in %s, the order in %s: not compared", a.Currency, order.Currency))
	}
	res.Detail = strings.Join(notes, "; ")
}

// ChannelOutcome maps a session default channel group to its outcome:
// Direct, Unassigned, "(not set)" (or empty), else credited.
func ChannelOutcome(channel string) Outcome {
	switch c := strings.TrimSpace(channel); {
	case strings.EqualFold(c, "Direct"):
		return Direct
	case strings.EqualFold(c, "Unassigned"):
		return Unassigned
	case c == "" || strings.EqualFold(c, "(not set)"):
		return NotSet
	}
	return Credited
}

// channels lists the distinct channels of rows with their purchases.
func channels(rows []Row) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s: %d", cmp.Or(r.Channel, "(empty)"), r.Purchases))
	}
	return strings.Join(parts, ", ")
}

// sumDecimals adds decimal strings exactly and writes the sum with as many
// decimals as the most precise term.
func sumDecimals(values []string) (string, error) {
	sum, scale := new(big.Rat), 0
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		r, ok := new(big.Rat).SetString(v)
		if !ok || strings.ContainsAny(v, "/eE") {
			return "", fmt.Errorf("GA4's revenue %q is not a decimal number", v)
		}
		if _, frac, ok := strings.Cut(v, "."); ok {
			scale = max(scale, len(frac))
		}
		sum.Add(sum, r)
	}
	return sum.FloatString(scale), nil
}
