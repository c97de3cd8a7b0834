package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// GA4's outcomes of a purchase, as the outcome import stores them in
// ga4_outbox.outcomes (docs/OUTCOMES.md), and OutcomeNotChecked for a
// purchase the import has not looked up yet.
const (
	OutcomeNotFound      = "not_found"
	OutcomeCredited      = "credited"
	OutcomeDirect        = "direct"
	OutcomeUnassigned    = "unassigned"
	OutcomeNotSet        = "not_set"
	OutcomeIndeterminate = "indeterminate"
	OutcomeDuplicate     = "duplicate"
	OutcomeNotChecked    = "not_checked"
)

// Outcomes lists the outcomes in the order every format uses: credited
// first, then the ways GA4 recorded the purchase without its channel, then
// not found, indeterminate and not checked.
var Outcomes = []string{OutcomeCredited, OutcomeDirect, OutcomeUnassigned, OutcomeNotSet, OutcomeDuplicate,
	OutcomeNotFound, OutcomeIndeterminate, OutcomeNotChecked}

// foundOutcomes are the outcomes of a purchase GA4 recorded.
var foundOutcomes = []string{OutcomeCredited, OutcomeDirect, OutcomeUnassigned, OutcomeNotSet, OutcomeDuplicate}

// Credited is the "Credited in GA4" section: what GA4 recorded and
// credited for the window's purchases, read from ga4_outbox.outcomes (the
// outcome import) joined to the outbox's purchase rows by transaction id.
// Revenue is ours (the outbox's value, per our currency) unless named GA.
type Credited struct {
	// Imported is false when no outcome of the window's purchases was
	// imported: every list is then empty.
	Imported bool `json:"imported"`
	// Summary has one line per currency, over the purchases we sent
	// (status delivered).
	Summary []CreditedSummary `json:"summary"`
	// ByLabel crosses our label before the send (the purchase's bucket)
	// with GA4's outcome, over every purchase of the window.
	ByLabel []LabelOutcome `json:"by_label"`
	// BySource is the summary per source (the code path) and currency.
	BySource []CreditedSource `json:"by_source"`
	// Channels are the channels GA4 credited the purchases we sent to.
	Channels []CreditedChannel `json:"channels"`
}

// CreditedSummary is one currency's capture and credit.
type CreditedSummary struct {
	Currency string `json:"currency"`
	// Sent is every purchase we sent; Checked those with an outcome,
	// NotChecked the others.
	Sent       Count `json:"sent"`
	Checked    Count `json:"checked"`
	NotChecked Count `json:"not_checked"`
	// Found: GA4 recorded the purchase (credited, direct, unassigned,
	// not_set, duplicate). Credited: to a real channel.
	Found         Count `json:"found"`
	Credited      Count `json:"credited"`
	NotFound      Count `json:"not_found"`
	Indeterminate Count `json:"indeterminate"`
	// CaptureRate is Found / (Checked - Indeterminate) in orders,
	// RevenueCaptureRate the same in revenue; CreditedShare is Credited
	// revenue / (Checked - Indeterminate) revenue. 4 decimals; nil when
	// nothing determinate was checked.
	CaptureRate        *float64 `json:"capture_rate"`
	RevenueCaptureRate *float64 `json:"revenue_capture_rate"`
	CreditedShare      *float64 `json:"credited_share"`
	// CreditedRatio is Credited revenue / the currency's revenue less
	// consent_denied (the base of the attributable share, so the two
	// compare: the headline, ga4_outbox_report_credited_ratio), less the
	// revenue of purchases sent but not checked yet or indeterminate,
	// whose outcome is unknown. nil when that base is zero.
	CreditedRatio *float64 `json:"credited_ratio"`
	// Provisional and Final count the checked orders whose outcome may
	// still change (younger than 72 h when checked) and those that will not.
	Provisional int64 `json:"provisional"`
	Final       int64 `json:"final"`
	// Compared is our revenue of the found orders GA4 reports in our
	// currency, GARevenue GA4's revenue of the same orders; OtherCurrency
	// counts found orders GA4 reports in another currency (not compared).
	Compared      Count  `json:"compared"`
	GARevenue     Amount `json:"ga_revenue"`
	OtherCurrency Count  `json:"other_currency"`
}

// LabelOutcome is one cell of label x outcome: the purchases of one
// currency and bucket that GA4 gave one outcome.
type LabelOutcome struct {
	Currency    string `json:"currency"`
	Label       string `json:"label"`
	Outcome     string `json:"outcome"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// CreditedSource is one source's capture and credit in one currency.
type CreditedSource struct {
	Source        string   `json:"source"`
	Currency      string   `json:"currency"`
	Checked       Count    `json:"checked"`
	Found         Count    `json:"found"`
	Credited      Count    `json:"credited"`
	CaptureRate   *float64 `json:"capture_rate"`
	CreditedShare *float64 `json:"credited_share"`
	indeterminate Count
}

// CreditedChannel is the purchases GA4 credited to one channel group (a
// real channel, Direct, Unassigned, ...), in one currency.
type CreditedChannel struct {
	Currency    string `json:"currency"`
	Channel     string `json:"channel"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// outcomeCell is one group of creditedSQL.
type outcomeCell struct {
	currency, source, bucket, outcome, channel string
	sent, final, sameCurrency                  bool
	n                                          int64
	revenue, gaRevenue                         Amount
}

// credited fills r.Credited from the outcomes of the window's purchases.
func credited(ctx context.Context, tx pgx.Tx, r *Report) error {
	r.Credited = noCredited()
	var imported bool
	if err := tx.QueryRow(ctx, outcomesImportedSQL).Scan(&imported); err != nil {
		return fmt.Errorf("look for outcomes: %w", err)
	}
	if !imported {
		return nil
	}
	rows, err := tx.Query(ctx, creditedSQL, r.Since, r.Until)
	if err != nil {
		return fmt.Errorf("query outcomes: %w", err)
	}
	cells, err := pgx.CollectRows(rows, scanOutcomeCell)
	if err != nil {
		return fmt.Errorf("query outcomes: %w", err)
	}
	if r.Credited.fill(cells); !r.Credited.Imported { // none of the window's orders
		r.Credited = noCredited()
	}
	return nil
}

// relate sets each currency's CreditedRatio against the summary's
// attributable base (revenue less consent_denied).
func (c *Credited) relate(summary []CurrencySummary) {
	for i := range c.Summary {
		x := &c.Summary[i]
		for _, s := range summary {
			if s.Currency == x.Currency {
				base := s.attributableBase().Sub(x.NotChecked.Revenue).Sub(x.Indeterminate.Revenue)
				if base.r.Sign() > 0 {
					x.CreditedRatio = shareOf(x.Credited.Revenue, base)
				}
			}
		}
	}
}

// noCredited is the section without outcomes: empty lists, not nulls.
func noCredited() Credited {
	return Credited{Summary: []CreditedSummary{}, ByLabel: []LabelOutcome{}, BySource: []CreditedSource{}, Channels: []CreditedChannel{}}
}

func scanOutcomeCell(row pgx.CollectableRow) (outcomeCell, error) {
	var c outcomeCell
	var currency, channel *string
	var revenue, gaRevenue, bucketReason string
	err := row.Scan(&currency, &c.source, &bucketReason, &c.sent, &c.outcome, &c.final, &channel,
		&c.sameCurrency, &c.n, &revenue, &gaRevenue)
	if err != nil {
		return c, err
	}
	c.currency = currencyKey(currency)
	c.bucket, _, _ = strings.Cut(bucketReason, ":")
	if channel != nil {
		c.channel = *channel
	}
	if c.revenue, err = ParseAmount(revenue); err == nil {
		c.gaRevenue, err = ParseAmount(gaRevenue)
	}
	return c, err
}

// fill folds the cells into the section.
func (c *Credited) fill(cells []outcomeCell) {
	sums := map[string]*CreditedSummary{}
	sources := map[[2]string]*CreditedSource{}
	labels := map[[3]string]*LabelOutcome{}
	channels := map[[2]string]*CreditedChannel{}
	for _, x := range cells {
		if x.outcome != OutcomeNotChecked {
			c.Imported = true
		}
		l := getOr(labels, [3]string{x.currency, x.bucket, x.outcome}, LabelOutcome{Currency: x.currency, Label: x.bucket, Outcome: x.outcome})
		l.Conversions, l.Revenue = l.Conversions+x.n, l.Revenue.Add(x.revenue)
		if !x.sent {
			continue
		}
		getOr(sums, x.currency, CreditedSummary{Currency: x.currency}).add(x)
		getOr(sources, [2]string{x.source, x.currency}, CreditedSource{Source: x.source, Currency: x.currency}).add(x)
		if x.channel != "" && slices.Contains(foundOutcomes, x.outcome) {
			ch := getOr(channels, [2]string{x.currency, x.channel}, CreditedChannel{Currency: x.currency, Channel: x.channel})
			ch.Conversions, ch.Revenue = ch.Conversions+x.n, ch.Revenue.Add(x.revenue)
		}
	}
	c.Summary = sortedValues(sums, func(a, b CreditedSummary) int { return cmp.Compare(a.Currency, b.Currency) })
	for i := range c.Summary {
		c.Summary[i].rates()
	}
	c.BySource = sortedValues(sources, func(a, b CreditedSource) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.Source, b.Source))
	})
	for i := range c.BySource {
		c.BySource[i].rates()
	}
	c.ByLabel = sortedValues(labels, func(a, b LabelOutcome) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(slices.Index(Buckets, a.Label), slices.Index(Buckets, b.Label)),
			cmp.Compare(slices.Index(Outcomes, a.Outcome), slices.Index(Outcomes, b.Outcome)))
	})
	c.Channels = sortedValues(channels, func(a, b CreditedChannel) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), b.Revenue.cmp(a.Revenue), cmp.Compare(a.Channel, b.Channel))
	})
}

// add counts a cell of sent purchases.
func (s *CreditedSummary) add(x outcomeCell) {
	n := Count{Conversions: x.n, Revenue: x.revenue}
	s.Sent = s.Sent.plus(n)
	if x.outcome == OutcomeNotChecked {
		s.NotChecked = s.NotChecked.plus(n)
		return
	}
	s.Checked = s.Checked.plus(n)
	if x.final {
		s.Final += x.n
	} else {
		s.Provisional += x.n
	}
	switch {
	case x.outcome == OutcomeNotFound:
		s.NotFound = s.NotFound.plus(n)
	case x.outcome == OutcomeIndeterminate:
		s.Indeterminate = s.Indeterminate.plus(n)
	case x.sameCurrency:
		s.Compared, s.GARevenue = s.Compared.plus(n), s.GARevenue.Add(x.gaRevenue)
	default:
		s.OtherCurrency = s.OtherCurrency.plus(n)
	}
	if slices.Contains(foundOutcomes, x.outcome) {
		s.Found = s.Found.plus(n)
	}
	if x.outcome == OutcomeCredited {
		s.Credited = s.Credited.plus(n)
	}
}

func (s *CreditedSummary) rates() {
	base := s.Checked.minus(s.Indeterminate)
	s.CaptureRate = ratio(s.Found.Conversions, base.Conversions)
	s.RevenueCaptureRate = shareOf(s.Found.Revenue, base.Revenue)
	s.CreditedShare = shareOf(s.Credited.Revenue, base.Revenue)
}

func (s *CreditedSource) add(x outcomeCell) {
	if x.outcome == OutcomeNotChecked {
		return
	}
	n := Count{Conversions: x.n, Revenue: x.revenue}
	s.Checked = s.Checked.plus(n)
	switch {
	case x.outcome == OutcomeIndeterminate:
		s.indeterminate = s.indeterminate.plus(n)
	case slices.Contains(foundOutcomes, x.outcome):
		s.Found = s.Found.plus(n)
	}
	if x.outcome == OutcomeCredited {
		s.Credited = s.Credited.plus(n)
	}
}

func (s *CreditedSource) rates() {
	base := s.Checked.minus(s.indeterminate)
	s.CaptureRate = ratio(s.Found.Conversions, base.Conversions)
	s.CreditedShare = shareOf(s.Credited.Revenue, base.Revenue)
}

func (c Count) plus(d Count) Count {
	return Count{Conversions: c.Conversions + d.Conversions, Revenue: c.Revenue.Add(d.Revenue)}
}

func (c Count) minus(d Count) Count {
	return Count{Conversions: c.Conversions - d.Conversions, Revenue: c.Revenue.Sub(d.Revenue)}
}

// ratio is part/whole rounded to 4 decimals, nil when whole is 0.
func ratio(part, whole int64) *float64 {
	if whole == 0 {
		return nil
	}
	a, _ := ParseAmount(fmt.Sprint(part))
	b, _ := ParseAmount(fmt.Sprint(whole))
	return shareOf(a, b)
}

// getOr returns m[k], first storing a copy of zero there when missing.
func getOr[K comparable, V any](m map[K]*V, k K, zero V) *V {
	v := m[k]
	if v == nil {
		v = &zero
		m[k] = v
	}
	return v
}

func sortedValues[K comparable, V any](m map[K]*V, less func(a, b V) int) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	slices.SortFunc(out, less)
	return out
}

// eachAmount calls fn with every amount of the section and its currency
// (GA4's revenue only where it is in our currency).
func (c *Credited) eachAmount(fn func(currency string, a *Amount)) {
	for i := range c.Summary {
		s := &c.Summary[i]
		for _, a := range []*Amount{&s.Sent.Revenue, &s.Checked.Revenue, &s.NotChecked.Revenue, &s.Found.Revenue,
			&s.Credited.Revenue, &s.NotFound.Revenue, &s.Indeterminate.Revenue, &s.Compared.Revenue, &s.GARevenue,
			&s.OtherCurrency.Revenue} {
			fn(s.Currency, a)
		}
	}
	for i := range c.ByLabel {
		fn(c.ByLabel[i].Currency, &c.ByLabel[i].Revenue)
	}
	for i := range c.BySource {
		s := &c.BySource[i]
		for _, a := range []*Amount{&s.Checked.Revenue, &s.Found.Revenue, &s.Credited.Revenue} {
			fn(s.Currency, a)
		}
	}
	for i := range c.Channels {
		fn(c.Channels[i].Currency, &c.Channels[i].Revenue)
	}
}
