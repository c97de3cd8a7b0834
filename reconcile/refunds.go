package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Refunds is the refunds section (schema version 12, docs/REFUNDS.md): the
// revenue net of refunds per currency, the refunds to look at, and, when
// the orders query returns a refunded column, the orders whose refunds in
// the outbox do not add up to the application's.
type Refunds struct {
	// Revenue is one line per currency of the window's conversions or
	// refunds, in currency order.
	Revenue []NetRevenue `json:"revenue"`
	// Flags are the window's refunds to look at, by kind (the Refund...
	// constants, in that order) and currency. A refund may carry several
	// kinds.
	Flags []RefundFlag `json:"flags"`
	// OrdersChecked is true when the orders query returns a refunded
	// column: Mismatched then lists the orders whose refund rows (of any
	// time) do not sum to it, the first ones by transaction id, and
	// MismatchedTotal counts them all.
	OrdersChecked   bool             `json:"orders_checked"`
	Mismatched      []RefundMismatch `json:"mismatched"`
	MismatchedTotal int64            `json:"mismatched_total"`
}

// NetRevenue is one currency's revenue net of refunds. Gross is the
// revenue of the window's conversions in the outbox (the summary's revenue
// without orders never enqueued); Refunded is the value of the refund rows
// whose business time (occurred_at, when the money went back) is in the
// window, whatever the purchase's time, as GA4 counts refunds on the day it
// receives them; Net = Gross - Refunded. Sent is the part of the refunds
// delivered to GA4.
type NetRevenue struct {
	Currency    string `json:"currency"`
	Conversions int64  `json:"conversions"`
	Gross       Amount `json:"gross"`
	Refunds     int64  `json:"refunds"`
	Refunded    Amount `json:"refunded"`
	Net         Amount `json:"net"`
	SentRefunds int64  `json:"sent_refunds"`
	Sent        Amount `json:"sent"`
}

// The kinds of refund flags, in report order.
const (
	// RefundPurchaseNotEnqueued: no purchase row with the refund's
	// transaction id (never enqueued, or deleted by retention). The refund
	// is still sent; GA4 may have nothing to net it against.
	RefundPurchaseNotEnqueued = "purchase_not_enqueued"
	// RefundPurchaseNotSent: the purchase is pending or failed. The refund
	// is sent anyway.
	RefundPurchaseNotSent = "purchase_not_sent"
	// RefundPurchaseSkipped: the purchase was skipped (consent_denied,
	// invalid, expired, ...), so GA4 never counted its revenue.
	RefundPurchaseSkipped = "purchase_skipped"
	// RefundPurchaseNotAttributable: the purchase was delivered but is not
	// attributable (its report bucket is not attributable): the refund
	// lowers revenue GA4 could not credit to a channel.
	RefundPurchaseNotAttributable = "purchase_not_attributable"
	// RefundExceedsPurchase: the order's refund rows (of any time) add up
	// to more than its purchase row's value. Kept and sent, not refused.
	RefundExceedsPurchase = "exceeds_purchase"
	// RefundCurrencyDiffers: the refund's currency is not its purchase's.
	RefundCurrencyDiffers = "currency_differs"
	// RefundNotSent: the refund itself is pending, failed or skipped.
	RefundNotSent = "refund_not_sent"
)

// RefundKinds lists the kinds in report order.
var RefundKinds = []string{RefundPurchaseNotEnqueued, RefundPurchaseNotSent, RefundPurchaseSkipped,
	RefundPurchaseNotAttributable, RefundExceedsPurchase, RefundCurrencyDiffers, RefundNotSent}

// RefundFlag counts the refunds of one kind and currency, with the first
// transaction ids.
type RefundFlag struct {
	Kind           string   `json:"kind"`
	Currency       string   `json:"currency"`
	Refunds        int64    `json:"refunds"`
	Amount         Amount   `json:"amount"`
	TransactionIDs []string `json:"transaction_ids"`
}

// RefundMismatch is one order whose refund rows do not add up to what the
// application says it refunded.
type RefundMismatch struct {
	TransactionID  string `json:"transaction_id"`
	Currency       string `json:"currency"`
	OrderRefunded  Amount `json:"order_refunded"`
	OutboxRefunded Amount `json:"outbox_refunded"`
}

// refunds fills r.Refunds; r.Summary must be filled.
func refunds(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	r.Refunds = Refunds{Revenue: []NetRevenue{}, Flags: []RefundFlag{}, Mismatched: []RefundMismatch{}}
	if err := refundRevenue(ctx, tx, r, opts); err != nil {
		return err
	}
	if err := refundFlags(ctx, tx, r, opts); err != nil {
		return err
	}
	if opts.OrdersQuery != "" {
		if err := refundOrders(ctx, tx, r, opts); err != nil {
			return err
		}
	}
	r.Refunds.applyCurrencies()
	return nil
}

func refundRevenue(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	lines := map[string]*NetRevenue{}
	line := func(cur string) *NetRevenue {
		if lines[cur] == nil {
			lines[cur] = &NetRevenue{Currency: cur}
		}
		return lines[cur]
	}
	for _, s := range r.Summary {
		n := line(s.Currency)
		notEnqueued := bucketOf(s.Buckets, BucketNotEnqueued)
		n.Conversions, n.Gross = s.Conversions-notEnqueued.Conversions, s.Revenue.Sub(notEnqueued.Revenue)
	}
	rows, err := tx.Query(ctx, refundRevenueSQL, opts.Since, opts.Until)
	if err != nil {
		return fmt.Errorf("sum refunds: %w", err)
	}
	var currency *string
	var refunds, sent int64
	var refunded, sentAmount string
	_, err = pgx.ForEachRow(rows, []any{&currency, &refunds, &refunded, &sent, &sentAmount}, func() error {
		n := line(currencyKey(currency))
		n.Refunds, n.SentRefunds = n.Refunds+refunds, n.SentRefunds+sent
		a, err := ParseAmount(refunded)
		if err != nil {
			return err
		}
		b, err := ParseAmount(sentAmount)
		n.Refunded, n.Sent = n.Refunded.Add(a), n.Sent.Add(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("sum refunds: %w", err)
	}
	for _, n := range lines {
		if n.Conversions == 0 && n.Refunds == 0 {
			continue
		}
		n.Net = n.Gross.Sub(n.Refunded)
		r.Refunds.Revenue = append(r.Refunds.Revenue, *n)
	}
	slices.SortFunc(r.Refunds.Revenue, func(a, b NetRevenue) int { return cmp.Compare(a.Currency, b.Currency) })
	return nil
}

func refundFlags(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	rows, err := tx.Query(ctx, refundFlagsSQL, opts.Since, opts.Until, max(opts.Examples, 0))
	if err != nil {
		return fmt.Errorf("flag refunds: %w", err)
	}
	r.Refunds.Flags, err = pgx.AppendRows(r.Refunds.Flags, rows, func(row pgx.CollectableRow) (RefundFlag, error) {
		var f RefundFlag
		var currency *string
		var amount string
		if err := row.Scan(&f.Kind, &currency, &f.Refunds, &amount, &f.TransactionIDs); err != nil {
			return f, err
		}
		f.Currency = currencyKey(currency)
		if f.TransactionIDs == nil {
			f.TransactionIDs = []string{}
		}
		var err error
		f.Amount, err = ParseAmount(amount)
		return f, err
	})
	if err != nil {
		return fmt.Errorf("flag refunds: %w", err)
	}
	slices.SortStableFunc(r.Refunds.Flags, func(a, b RefundFlag) int {
		return cmp.Or(cmp.Compare(slices.Index(RefundKinds, a.Kind), slices.Index(RefundKinds, b.Kind)),
			cmp.Compare(a.Currency, b.Currency))
	})
	return nil
}

// refundOrders compares the application's refunded amount per order with
// the order's refund rows, when the orders query returns refunded.
func refundOrders(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	q := trimQuery(opts.OrdersQuery)
	has, err := returnsColumn(ctx, tx, q, opts, "refunded")
	if err != nil || !has {
		return err
	}
	r.Refunds.OrdersChecked = true
	rows, err := tx.Query(ctx, fmt.Sprintf(refundOrdersSQL, q), opts.Since, opts.Until, max(opts.Examples, 1))
	if err != nil {
		return fmt.Errorf("reconcile refunded orders: %w", err)
	}
	var total int64
	r.Refunds.Mismatched, err = pgx.AppendRows(r.Refunds.Mismatched, rows, func(row pgx.CollectableRow) (RefundMismatch, error) {
		var m RefundMismatch
		var order, outbox string
		if err := row.Scan(&m.TransactionID, &m.Currency, &order, &outbox, &total); err != nil {
			return m, err
		}
		m.Currency = currencyKey(&m.Currency)
		var err error
		if m.OrderRefunded, err = ParseAmount(order); err != nil {
			return m, err
		}
		m.OutboxRefunded, err = ParseAmount(outbox)
		return m, err
	})
	if err != nil {
		return fmt.Errorf("reconcile refunded orders: %w", err)
	}
	r.Refunds.MismatchedTotal = total
	r.Refunds.Mismatched = r.Refunds.Mismatched[:min(len(r.Refunds.Mismatched), max(opts.Examples, 0))]
	return nil
}

// returnsColumn runs the orders query for zero rows and says whether it
// returns a column named name.
func returnsColumn(ctx context.Context, tx pgx.Tx, q string, opts Options, name string) (bool, error) {
	rows, err := tx.Query(ctx, "SELECT * FROM ("+q+"\n) AS q LIMIT 0", opts.Since, opts.Until)
	if err != nil {
		return false, fmt.Errorf("run reconcile.orders_query: %w", err)
	}
	defer rows.Close()
	found := slices.ContainsFunc(rows.FieldDescriptions(), func(f pgconn.FieldDescription) bool { return f.Name == name })
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("run reconcile.orders_query: %w", err)
	}
	return found, nil
}

// applyCurrencies prints each currency's amounts with its minor units, or
// more decimals when an amount needs them.
func (f *Refunds) applyCurrencies() {
	scale := map[string]int{}
	f.eachAmount(func(cur string, a *Amount) { scale[cur] = max(scale[cur], decimals(cur), a.exactScale()) })
	f.eachAmount(func(cur string, a *Amount) { a.scale = scale[cur] })
}

func (f *Refunds) eachAmount(fn func(cur string, a *Amount)) {
	for i := range f.Revenue {
		n := &f.Revenue[i]
		for _, a := range []*Amount{&n.Gross, &n.Refunded, &n.Net, &n.Sent} {
			fn(n.Currency, a)
		}
	}
	for i := range f.Flags {
		fn(f.Flags[i].Currency, &f.Flags[i].Amount)
	}
	for i := range f.Mismatched {
		fn(f.Mismatched[i].Currency, &f.Mismatched[i].OrderRefunded)
		fn(f.Mismatched[i].Currency, &f.Mismatched[i].OutboxRefunded)
	}
}
