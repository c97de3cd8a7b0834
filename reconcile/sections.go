package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// section is one titled table of the text formats (table, Markdown, CSV,
// HTML): the same cells in every format, so they always agree.
type section struct {
	id      string // CSV section name
	title   string
	headers []string
	rows    [][]string
	notes   []string // lines printed under the table
}

// sections lays the report out: 1 summary (and its buckets), 2 by source,
// 3 by day, 4 delivery health (and top errors), 5 examples, then the
// orders reconciliation when configured.
func (r *Report) sections() []section {
	out := []section{r.summarySection(), r.bucketSection(), r.sourceSection(), r.daySection(),
		r.healthSection(), r.errorSection(), r.examplesSection()}
	if r.Orders.Configured {
		out = append(out, r.ordersSection(), r.mismatchSection())
	}
	return out
}

func (r *Report) title() string {
	return fmt.Sprintf("GA4 attribution report, %s to %s (UTC, business time)",
		r.Since.Format("2006-01-02 15:04"), r.Until.Format("2006-01-02 15:04"))
}

func (r *Report) summarySection() section {
	s := section{id: "summary", title: "1. Summary",
		headers: []string{"currency", "conversions", "revenue", "attributable", "attributable share", "at risk (Unassigned)"}}
	for _, c := range r.Summary {
		s.rows = append(s.rows, []string{c.Currency, count(c.Conversions), c.Revenue.String(),
			bucketOf(c.Buckets, BucketAttributable).Revenue.String(), pct(c.AttributableShare), c.RevenueAtRisk.String()})
	}
	s.notes = []string{"attributable share = attributable revenue / (revenue - consent_denied revenue); revenue is never added across currencies."}
	return s
}

func (r *Report) bucketSection() section {
	s := section{id: "buckets", title: "1. Summary, by bucket",
		headers: []string{"currency", "bucket", "conversions", "revenue", "reasons"}}
	for _, c := range r.Summary {
		for _, b := range c.Buckets {
			s.rows = append(s.rows, []string{c.Currency, b.Bucket, count(b.Conversions), b.Revenue.String(), reasons(b.Reasons)})
			if b.Stuck != nil {
				s.rows = append(s.rows, []string{c.Currency, "pending, stuck (older than " + dur(r.StuckAfterSeconds) + ")",
					count(b.Stuck.Conversions), b.Stuck.Revenue.String(), ""})
			}
		}
	}
	return s
}

// rowColumns are the buckets shown as columns in the source and day tables.
var rowColumns = []string{BucketMissingSessionID, BucketMissingClientID, BucketLate, BucketConsentDenied}

func rowsSection(id, title, key string, rows []Row) section {
	s := section{id: id, title: title,
		headers: append([]string{key, "currency", "conversions", "revenue", "attributable share"}, append(rowColumns, "not delivered")...)}
	for _, x := range rows {
		cells := []string{x.Key, x.Currency, count(x.Conversions), x.Revenue.String(), pct(x.AttributableShare)}
		for _, b := range rowColumns {
			cells = append(cells, count(bucketOf(x.Buckets, b).Conversions))
		}
		var undelivered int64
		for _, b := range []string{BucketInvalid, BucketExpired, BucketFailed, BucketPending} {
			undelivered += bucketOf(x.Buckets, b).Conversions
		}
		s.rows = append(s.rows, append(cells, count(undelivered)))
	}
	return s
}

func (r *Report) sourceSection() section {
	s := rowsSection("by_source", "2. By source (worst first)", "source", r.BySource)
	s.notes = []string{"columns after the share count conversions; not delivered = invalid + expired + failed + pending."}
	return s
}

func (r *Report) daySection() section {
	return rowsSection("by_day", "3. By day (UTC)", "day", r.ByDay)
}

func (r *Report) healthSection() section {
	h := r.Health
	return section{id: "health", title: "4. Delivery health", headers: []string{"measure", "value"}, rows: [][]string{
		{"delivered", count(h.Delivered)},
		{"lag p50 (occurred_at to delivered_at)", secs(h.LagP50Seconds)},
		{"lag p95", secs(h.LagP95Seconds)},
		{"lag max", secs(h.LagMaxSeconds)},
		{"attempts per delivery (mean / max)", strconv.FormatFloat(h.AttemptsMean, 'f', 2, 64) + " / " + count(h.AttemptsMax)},
		{"delivered after a retry", count(h.Retried)},
		{"pending", count(h.Pending)},
		{"stuck (pending older than " + dur(r.StuckAfterSeconds) + ")", count(h.Stuck)},
		{"oldest pending age", dur(h.OldestPendingAgeSeconds)},
	}}
}

func (r *Report) errorSection() section {
	s := section{id: "top_errors", title: "4. Delivery health, top last errors", headers: []string{"last error", "rows", "distinct texts"}}
	for _, e := range r.Health.TopErrors {
		s.rows = append(s.rows, []string{e.Error, count(e.Rows), count(e.Messages)})
	}
	return s
}

func (r *Report) examplesSection() section {
	s := section{id: "examples", title: "5. Examples", headers: []string{"bucket", "transaction ids"}}
	for _, e := range r.Examples {
		name := e.Bucket
		if name == BucketPending {
			name = "pending (stuck)"
		}
		s.rows = append(s.rows, []string{name, strings.Join(e.TransactionIDs, " ")})
	}
	return s
}

func (r *Report) ordersSection() section {
	o := r.Orders
	s := section{id: "orders", title: "Orders reconciliation", headers: []string{"currency", "orders not enqueued", "revenue"}}
	for _, c := range o.NotEnqueued {
		s.rows = append(s.rows, []string{c.Currency, count(c.Conversions), c.Revenue.String()})
	}
	s.notes = []string{fmt.Sprintf("%d orders in the window; %d not enqueued; %d with another value or currency in the outbox.",
		o.Orders, sumCounts(o.NotEnqueued), o.MismatchedTotal)}
	return s
}

func (r *Report) mismatchSection() section {
	s := section{id: "mismatched", title: "Orders that differ from the outbox",
		headers: []string{"transaction id", "order value", "order currency", "outbox value", "outbox currency"}}
	for _, m := range r.Orders.Mismatched {
		s.rows = append(s.rows, []string{m.TransactionID, m.OrderValue, m.OrderCurrency, m.OutboxValue, m.OutboxCurrency})
	}
	return s
}

func bucketOf(bs []Bucket, name string) Bucket {
	for _, b := range bs {
		if b.Bucket == name {
			return b
		}
	}
	return Bucket{Bucket: name}
}

func reasons(rs []Reason) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %d", r.Reason, r.Conversions))
	}
	return strings.Join(parts, ", ")
}

func sumCounts(cs []CurrencyCount) int64 {
	var n int64
	for _, c := range cs {
		n += c.Conversions
	}
	return n
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

// pct prints a share as a percentage with two decimals, "n/a" for none.
func pct(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*f*100, 'f', 2, 64) + "%"
}

func dur(seconds int64) string { return short(time.Duration(seconds) * time.Second) }

func secs(f float64) string {
	return short(time.Duration(f * float64(time.Second)).Round(time.Millisecond))
}

// short prints a duration without trailing zero units: 1h, 2m, 71h59m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
