package reconcile

import (
	"fmt"
	"strings"
)

// creditedTitle heads the section in every format.
const creditedTitle = "Credited in GA4"

// noOutcomes is the section's one line when no outcome was imported for
// the window.
const noOutcomes = "No GA4 outcomes imported for this window: run `ga4-outbox outcomes fetch` (docs/OUTCOMES.md)."

// creditedNotes explain the summary's figures.
var creditedNotes = []string{
	"sent: purchases delivered; checked: those the outcome import looked up; found: GA4 recorded them;",
	"capture = found / (checked - indeterminate), in orders and in revenue; credited share = revenue",
	"GA4 credited to a real channel / revenue checked (less indeterminate); revenue is ours, in our",
	"currency. Outcomes stay provisional until the order is 72 h old (GA4's data changes meanwhile).",
}

// creditedSections lays out the "Credited in GA4" section: the summary
// per currency, our label x GA4's outcome, the same by source, and the
// channels GA4 credited; one line when nothing was imported.
func (r *Report) creditedSections(l layout) []section {
	c := &r.Credited
	if !c.Imported {
		return []section{{id: "credited", title: creditedTitle, message: noOutcomes}}
	}
	return []section{c.summarySection(l), c.labelSection(l), c.sourceSection(l), c.channelSection(l)}
}

func (c *Credited) summarySection(l layout) section {
	s := section{id: "credited", title: creditedTitle + ", per currency",
		headers: []string{"cur.", "sent", "checked", "found", "capture", "rev. capture", "credited", "cred. share", "provisional"},
		notes:   creditedNotes}
	if l.wide {
		s.headers = []string{"currency", "sent", "sent revenue", "checked", "not checked", "found", "capture",
			"revenue capture", "credited", "credited revenue", "credited share", "direct, unassigned, not set, dup.",
			"not found", "indeterminate", "provisional", "final", "GA4 revenue (our currency)", "our revenue of those",
			"found in another currency"}
	}
	for _, x := range c.Summary {
		cur := l.currency(x.Currency)
		if !l.wide {
			s.rows = append(s.rows, []string{cur, count(x.Sent.Conversions), count(x.Checked.Conversions), count(x.Found.Conversions),
				pct(x.CaptureRate), pct(x.RevenueCaptureRate), x.Credited.Revenue.String(), pct(x.CreditedShare),
				fmt.Sprintf("%d of %d", x.Provisional, x.Provisional+x.Final)})
			continue
		}
		s.rows = append(s.rows, []string{cur, count(x.Sent.Conversions), x.Sent.Revenue.String(), count(x.Checked.Conversions),
			count(x.NotChecked.Conversions), count(x.Found.Conversions), pct(x.CaptureRate), pct(x.RevenueCaptureRate),
			count(x.Credited.Conversions), x.Credited.Revenue.String(), pct(x.CreditedShare),
			count(x.Found.Conversions - x.Credited.Conversions), count(x.NotFound.Conversions), count(x.Indeterminate.Conversions),
			count(x.Provisional), count(x.Final), x.GARevenue.String(), x.Compared.Revenue.String(), count(x.OtherCurrency.Conversions)})
	}
	if !l.wide {
		for _, n := range c.revenueNotes(l) {
			s.notes = append(s.notes, wrap(n)...)
		}
	}
	return s
}

// revenueNotes compare GA4's revenue with ours per currency, only over
// the orders GA4 reports in our currency.
func (c *Credited) revenueNotes(l layout) []string {
	var out []string
	for _, x := range c.Summary {
		cur := l.currency(x.Currency)
		var line string
		if x.Compared.Conversions > 0 {
			line = fmt.Sprintf("%s: GA4 reports %s %s for orders we sent at %s %s (%s)", cur, x.GARevenue.grouped(), cur,
				x.Compared.Revenue.grouped(), cur, plural(x.Compared.Conversions, "order"))
		}
		if n := x.OtherCurrency.Conversions; n > 0 {
			lead := cur + ": "
			if line != "" {
				lead = line + "; "
			}
			line = lead + fmt.Sprintf("GA4 reports %s in another currency: revenue not compared", plural(n, "order"))
		}
		if line != "" {
			out = append(out, line+".")
		}
	}
	return out
}

func (c *Credited) labelSection(l layout) section {
	s := section{id: "credited_by_label", title: creditedTitle + ", our label before the send x GA4's outcome",
		headers: []string{"currency", "our label", "GA4's outcome", "orders", "revenue"}}
	var prev LabelOutcome
	for i, x := range c.ByLabel {
		cur, label := l.currency(x.Currency), x.Label
		if !l.wide && i > 0 && x.Currency == prev.Currency { // the compact table names each once
			cur = ""
			if x.Label == prev.Label {
				label = ""
			}
		}
		prev = x
		s.rows = append(s.rows, []string{cur, label, x.Outcome, count(x.Conversions), x.Revenue.String()})
	}
	s.notes = wrap("our label: the purchase's bucket (attributable = attributable as sent); not_checked: no outcome imported yet.")
	return s
}

func (c *Credited) sourceSection(l layout) section {
	s := section{id: "credited_by_source", title: creditedTitle + ", by source",
		headers: []string{"source", "currency", "checked", "found", "capture", "credited", "credited share"}}
	for _, x := range c.BySource {
		s.rows = append(s.rows, []string{l.clip(x.Source, clipKey), l.currency(x.Currency), count(x.Checked.Conversions),
			count(x.Found.Conversions), pct(x.CaptureRate), x.Credited.Revenue.String(), pct(x.CreditedShare)})
	}
	return s
}

func (c *Credited) channelSection(l layout) section {
	s := section{id: "credited_channels", title: creditedTitle + ", the channels that got the credit",
		headers: []string{"currency", "channel", "orders", "revenue"}}
	for _, x := range c.Channels {
		s.rows = append(s.rows, []string{l.currency(x.Currency), l.clip(x.Channel, 2*clipKey), count(x.Conversions), x.Revenue.String()})
	}
	return s
}

// creditedHeadline is the headline's figure for one currency, beside the
// attributable share and over the same base: "attributable as sent
// 33.93%, credited by GA4 44.05% (sent: 87.53% found, 79.21% credited)",
// the last two of the revenue sent; "" when no outcome of the currency was
// imported. (Whether outcomes are provisional is in the
// section: the line stays within the terminal's 100 columns.)
func (r *Report) creditedHeadline(s CurrencySummary) string {
	for _, x := range r.Credited.Summary {
		if x.Currency == s.Currency && x.Checked.Conversions > 0 {
			return fmt.Sprintf("attributable as sent %s, credited by GA4 %s (sent: %s found, %s credited)",
				pct(s.AttributableShare), pct(x.CreditedRatio), pct(x.RevenueCaptureRate), pct(x.CreditedShare))
		}
	}
	return ""
}

// wrap fills a note into lines that fit the compact table's width.
func wrap(note string) []string { return fill(strings.Fields(note), termWidth) }
