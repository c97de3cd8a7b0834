package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ordersColumns are the columns an orders query must return, by name.
var ordersColumns = []string{"transaction_id", "value", "currency", "occurred_at"}

// OrdersQueryError reports an orders query that does not return the
// columns the reconciliation needs.
type OrdersQueryError struct {
	Missing []string // required columns not returned
	Got     []string // the columns it returns
}

func (e *OrdersQueryError) Error() string {
	return fmt.Sprintf("reconcile.orders_query: missing column(s) %s: it must return %s (it returns %s)",
		strings.Join(e.Missing, ", "), strings.Join(ordersColumns, ", "), strings.Join(e.Got, ", "))
}

type ordersResult struct {
	Orders
	examples []string // not enqueued transaction ids
}

// ordersSQL joins the operator's orders ($1, $2 = the window) to purchase
// rows through events_dedup_key_idx and sorts each order into ok,
// not_enqueued or mismatched (other value or currency).
const ordersSQL = `
SELECT o.transaction_id, o.value, o.currency, e.value AS outbox_value, e.currency AS outbox_currency,
       CASE WHEN NOT e.found THEN 'not_enqueued'
            WHEN o.value IS DISTINCT FROM e.value OR upper(o.currency) <> upper(e.currency) THEN 'mismatched'
            ELSE 'ok' END AS kind
FROM (
  SELECT q.transaction_id::text AS transaction_id, q.value::numeric AS value,
         coalesce(upper(q.currency::text), '') AS currency
  FROM (%s
  ) AS q
) o
LEFT JOIN LATERAL (
  SELECT true AS found, ev.value, coalesce(ev.currency, '') AS currency
  FROM ga4_outbox.events ev
  WHERE ev.event_name = 'purchase' AND ev.transaction_id = o.transaction_id
  LIMIT 1
) f ON true
CROSS JOIN LATERAL (SELECT coalesce(f.found, false) AS found, f.value, f.currency) e`

const ordersAggSQL = `
SELECT kind, currency, count(*), coalesce(sum(value), 0)::text,
       (array_agg(transaction_id ORDER BY transaction_id) FILTER (WHERE kind = 'not_enqueued'))[1:$3]
FROM (%s) j
GROUP BY kind, currency
ORDER BY kind, currency`

const ordersMismatchSQL = `
SELECT transaction_id, coalesce(value::text, ''), currency, coalesce(outbox_value::text, ''), outbox_currency
FROM (%s) j
WHERE kind = 'mismatched'
ORDER BY transaction_id
LIMIT $3`

func reconcileOrders(ctx context.Context, tx pgx.Tx, opts Options) (*ordersResult, error) {
	q := trimQuery(opts.OrdersQuery)
	if err := checkOrderColumns(ctx, tx, q, opts); err != nil {
		return nil, err
	}
	joined := fmt.Sprintf(ordersSQL, q)
	res := &ordersResult{Orders: Orders{Configured: true, NotEnqueued: []CurrencyCount{}, Mismatched: []Mismatch{}}}
	rows, err := tx.Query(ctx, fmt.Sprintf(ordersAggSQL, joined), opts.Since, opts.Until, max(opts.Examples, 0))
	if err != nil {
		return nil, fmt.Errorf("reconcile orders: %w", err)
	}
	var kind, currency, revenue string
	var n int64
	var ids []string
	_, err = pgx.ForEachRow(rows, []any{&kind, &currency, &n, &revenue, &ids}, func() error {
		res.Orders.Orders += n
		switch kind {
		case "not_enqueued":
			amt, err := ParseAmount(revenue)
			res.NotEnqueued = append(res.NotEnqueued, CurrencyCount{Currency: currencyKey(&currency), Conversions: n, Revenue: amt})
			res.examples = append(res.examples, ids...)
			return err
		case "mismatched":
			res.MismatchedTotal += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile orders: %w", err)
	}
	return res, mismatches(ctx, tx, joined, opts, res)
}

func mismatches(ctx context.Context, tx pgx.Tx, joined string, opts Options, res *ordersResult) error {
	if res.MismatchedTotal == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(ordersMismatchSQL, joined), opts.Since, opts.Until, max(opts.Examples, 0))
	if err != nil {
		return fmt.Errorf("list mismatched orders: %w", err)
	}
	res.Mismatched, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Mismatch, error) {
		var m Mismatch
		return m, row.Scan(&m.TransactionID, &m.OrderValue, &m.OrderCurrency, &m.OutboxValue, &m.OutboxCurrency)
	})
	if err != nil {
		return fmt.Errorf("list mismatched orders: %w", err)
	}
	if res.Mismatched == nil {
		res.Mismatched = []Mismatch{}
	}
	return nil
}

// checkOrderColumns runs the query for zero rows and compares the column
// names it returns with ordersColumns.
func checkOrderColumns(ctx context.Context, tx pgx.Tx, q string, opts Options) error {
	rows, err := tx.Query(ctx, "SELECT * FROM ("+q+"\n) AS q LIMIT 0", opts.Since, opts.Until)
	if err != nil {
		return fmt.Errorf("run reconcile.orders_query: %w", err)
	}
	defer rows.Close()
	var got []string
	for _, f := range rows.FieldDescriptions() {
		got = append(got, f.Name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("run reconcile.orders_query: %w", err)
	}
	var missing []string
	for _, c := range ordersColumns {
		if !slices.Contains(got, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &OrdersQueryError{Missing: missing, Got: got}
	}
	return nil
}

// trimQuery drops what follows the last token of an orders query (white
// space, -- and /* */ comments, semicolons), so that it can be wrapped as
// a subquery; the wrappers also close it on a new line. It knows quoted
// strings and identifiers ("a;b", doubled quotes inside), not dollar
// quoting.
func trimQuery(q string) string {
	end := 0 // the byte after the last significant one
	for i := 0; i < len(q); {
		switch rest := q[i:]; {
		case strings.HasPrefix(rest, "--"):
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				i += j
			} else {
				i = len(q)
			}
		case strings.HasPrefix(rest, "/*"):
			if j := strings.Index(rest[2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(q)
			}
		case rest[0] == '\'' || rest[0] == '"':
			i = closingQuote(q, i) + 1
			end = min(i, len(q))
		case rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r':
			i++
		default:
			i++
			end = i
		}
	}
	return strings.TrimSpace(q[:end])
}

// closingQuote returns the index of the quote closing the one at q[open]
// (a doubled quote is part of the text), or len(q) when there is none.
func closingQuote(q string, open int) int {
	for j := open + 1; j < len(q); j++ {
		if q[j] == q[open] {
			if j+1 < len(q) && q[j+1] == q[open] {
				j++
				continue
			}
			return j
		}
	}
	return len(q)
}
