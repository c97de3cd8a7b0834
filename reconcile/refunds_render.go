package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// refundSections lays the refunds section out for the text formats: net
// revenue per currency, the refunds to look at and, when the orders query
// returns refunded, the orders whose refunds do not add up. A window
// without refunds (or a report stored before refunds) shows none of them.
func (r *Report) refundSections(l layout) []section {
	if !r.Refunds.OrdersChecked && len(r.Refunds.Flags) == 0 &&
		!slices.ContainsFunc(r.Refunds.Revenue, func(n NetRevenue) bool { return n.Refunds > 0 }) {
		return nil
	}
	out := []section{r.netRevenueSection(l), r.refundFlagsSection(l)}
	if r.Refunds.OrdersChecked {
		out = append(out, r.refundOrdersSection(l))
	}
	return out
}

func (r *Report) netRevenueSection(l layout) section {
	s := section{id: "net_revenue", title: "6. Refunds, revenue net of refunds",
		headers: []string{"currency", "conv.", "gross", "refunds", "refunded", "net", "refunds sent"}}
	if l.wide {
		s.headers = []string{"currency", "conversions", "gross revenue", "refunds", "refunded", "net revenue",
			"refunds sent", "refunded, sent"}
	}
	for _, n := range r.Refunds.Revenue {
		row := []string{l.currency(n.Currency), count(n.Conversions), n.Gross.String(), count(n.Refunds),
			n.Refunded.String(), n.Net.String(), count(n.SentRefunds)}
		if l.wide {
			row = append(row, n.Sent.String())
		}
		s.rows = append(s.rows, row)
	}
	s.notes = []string{"gross = the window's conversions in the outbox; refunded = refunds whose business time is in",
		"the window, whatever the purchase's; net = gross - refunded."}
	return s
}

// refundKindText says what each flag means, in a few words.
var refundKindText = map[string]string{
	RefundPurchaseNotEnqueued:     "purchase not in the outbox",
	RefundPurchaseNotSent:         "purchase pending or failed",
	RefundPurchaseSkipped:         "purchase skipped",
	RefundPurchaseNotAttributable: "purchase not attributable",
	RefundExceedsPurchase:         "refunds exceed the purchase",
	RefundCurrencyDiffers:         "currency differs from the purchase",
	RefundNotSent:                 "refund not sent",
}

func (r *Report) refundFlagsSection(l layout) section {
	s := section{id: "refund_flags", title: "6. Refunds to look at",
		headers: []string{"kind", "currency", "refunds", "amount", "transaction ids"}}
	for _, f := range r.Refunds.Flags {
		kind := f.Kind
		if l.wide {
			kind = f.Kind + " (" + refundKindText[f.Kind] + ")"
		}
		ids := make([]string, len(f.TransactionIDs))
		for i, id := range f.TransactionIDs {
			ids[i] = l.clip(id, clipKey)
		}
		s.rows = append(s.rows, []string{kind, l.currency(f.Currency), count(f.Refunds), f.Amount.String(),
			l.clip(strings.Join(ids, " "), 40)})
	}
	return s
}

func (r *Report) refundOrdersSection(l layout) section {
	s := section{id: "refund_orders", title: "6. Orders whose refunds in the outbox do not add up (orders query)",
		headers: []string{"transaction id", "currency", "refunded (orders)", "refunded (outbox)", "difference"}}
	for _, m := range r.Refunds.Mismatched {
		diff := m.OrderRefunded.Sub(m.OutboxRefunded)
		s.rows = append(s.rows, []string{l.clip(m.TransactionID, clipKey), l.currency(m.Currency),
			m.OrderRefunded.String(), m.OutboxRefunded.String(), diff.String()})
	}
	s.notes = []string{fmt.Sprintf("%d orders whose refunded amount differs from their refund rows.", r.Refunds.MismatchedTotal)}
	return s
}
