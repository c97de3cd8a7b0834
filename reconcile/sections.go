package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/printable"
)

// section is one titled table of the text formats (table, Markdown, CSV,
// HTML): the same cells in every format, so they always agree. Text from
// the database (sources, transaction ids, errors, currencies) is escaped
// with printable.Escape: no control character reaches a terminal.
type section struct {
	id      string // CSV section name
	title   string
	headers []string
	rows    [][]string
	notes   []string // lines printed under the table
	message string   // when set, printed instead of the table (and its notes)
}

// layout says how much a text format shows: compact fits a 100-column
// terminal (zero buckets hidden, reasons as indented rows, one main cause
// per source and day, long texts clipped); wide shows every bucket,
// column and whole text.
type layout struct{ wide bool }

// Widths the compact layout clips texts from the database to.
const (
	clipKey         = 20 // source, transaction id
	clipCurrency    = 6
	clipCauseSource = 40 // a source in the headline
	clipError       = 64
	exampleWidth    = 64 // transaction ids per examples row
)

func (l layout) clip(s string, n int) string {
	s = printable.Escape(s)
	if r := []rune(s); !l.wide && len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (l layout) currency(c string) string { return l.clip(c, clipCurrency) }

// sections lays the report out: 1 summary (and its buckets), 2 by source,
// 3 by day, 4 delivery health (and top errors), 5 examples, then the
// orders reconciliation when configured. The headline comes before them,
// drawn by each format.
func (r *Report) sections(l layout) []section {
	out := []section{r.summarySection(l), r.bucketSection(l), r.sourceSection(l), r.daySection(l),
		r.healthSection(), r.errorSection(l), r.examplesSection(l)}
	if r.Orders.Configured {
		out = append(out, r.ordersSection(l), r.mismatchSection(l))
	}
	out = append(out, r.refundSections(l)...)
	out = append(out, r.creditedSections(l)...)
	return out
}

func (r *Report) title() string {
	return fmt.Sprintf("GA4 attribution report, %s to %s (UTC, business time)",
		r.Since.Format("2006-01-02 15:04"), r.Until.Format("2006-01-02 15:04"))
}

func (r *Report) summarySection(l layout) section {
	s := section{id: "summary", title: "1. Summary",
		headers: []string{"currency", "conversions", "revenue", "attributable", "attributable share", "not attributable"}}
	if l.wide {
		s.headers = append(s.headers, "at risk (Unassigned)")
	}
	for _, c := range r.Summary {
		row := []string{l.currency(c.Currency), count(c.Conversions), c.Revenue.String(),
			bucketOf(c.Buckets, BucketAttributable).Revenue.String(), pct(c.AttributableShare), c.NotAttributable.String()}
		if l.wide {
			row = append(row, c.RevenueAtRisk.String())
		}
		s.rows = append(s.rows, row)
	}
	s.notes = []string{"attributable share = attributable revenue / (revenue - consent_denied revenue);",
		"revenue is never added across currencies."}
	return s
}

func (r *Report) bucketSection(l layout) section {
	if l.wide {
		return r.bucketSectionWide()
	}
	s := section{id: "buckets", title: "1. Summary, by bucket and reason (buckets without conversions left out)",
		headers: []string{"currency", "bucket / reason", "conversions", "revenue"}}
	for _, c := range r.Summary {
		cur := l.currency(c.Currency)
		for _, b := range c.Buckets {
			if b.Conversions == 0 {
				continue
			}
			s.rows = append(s.rows, []string{cur, b.Bucket, count(b.Conversions), b.Revenue.String()})
			for _, x := range b.Reasons {
				s.rows = append(s.rows, []string{"", "  " + x.Reason, count(x.Conversions), x.Revenue.String()})
			}
			if b.Stuck != nil && b.Stuck.Conversions > 0 {
				s.rows = append(s.rows, []string{"", "  stuck (older than " + dur(r.StuckAfterSeconds) + ")",
					count(b.Stuck.Conversions), b.Stuck.Revenue.String()})
			}
		}
	}
	return s
}

func (r *Report) bucketSectionWide() section {
	s := section{id: "buckets", title: "1. Summary, by bucket",
		headers: []string{"currency", "bucket", "conversions", "revenue", "reasons"}}
	for _, c := range r.Summary {
		cur := printable.Escape(c.Currency)
		for _, b := range c.Buckets {
			s.rows = append(s.rows, []string{cur, b.Bucket, count(b.Conversions), b.Revenue.String(), reasons(b.Reasons)})
			if b.Stuck != nil {
				s.rows = append(s.rows, []string{cur, "pending, stuck (older than " + dur(r.StuckAfterSeconds) + ")",
					count(b.Stuck.Conversions), b.Stuck.Revenue.String(), ""})
			}
		}
	}
	return s
}

// rowColumns are the buckets shown as columns in the wide source and day
// tables.
var rowColumns = []string{BucketMissingSessionID, BucketMissingClientID, BucketLate, BucketConsentDenied}

func rowsSection(l layout, id, title, key string, rows []Row) section {
	s := section{id: id, title: title, headers: []string{key, "cur.", "conv.", "revenue", "share", "not attrib.", "main cause"}}
	if l.wide {
		s.headers = append([]string{key, "currency", "conversions", "revenue", "attributable share", "not attributable"},
			append(rowColumns, "not delivered")...)
	}
	for _, x := range rows {
		lost, main := notAttributable(x.Buckets)
		lost.scale = x.Revenue.scale
		cells := []string{l.clip(x.Key, clipKey), l.currency(x.Currency), count(x.Conversions), x.Revenue.String(),
			pct(x.AttributableShare), lost.String()}
		if !l.wide {
			s.rows = append(s.rows, append(cells, main))
			continue
		}
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

// notAttributable sums the problem buckets of a row and names the one
// with the most revenue (then conversions), "-" when there is none.
func notAttributable(bs []Bucket) (Amount, string) {
	var lost Amount
	main, best := "-", Bucket{}
	for _, b := range bs {
		if b.Bucket == BucketAttributable || b.Bucket == BucketConsentDenied || b.Conversions == 0 {
			continue
		}
		lost = lost.Add(b.Revenue)
		if c := b.Revenue.cmp(best.Revenue); main == "-" || c > 0 || (c == 0 && b.Conversions > best.Conversions) {
			main, best = b.Bucket, b
		}
	}
	return lost, main
}

func (r *Report) sourceSection(l layout) section {
	s := rowsSection(l, "by_source", "2. By source (worst first)", "source", r.BySource)
	s.notes = []string{"share: attributable share; not attrib.: revenue not attributable; main cause: the bucket",
		"that loses the most revenue."}
	if l.wide {
		s.notes = []string{"columns after not attributable count conversions;",
			"not delivered = invalid + expired + failed + pending."}
	}
	return s
}

func (r *Report) daySection(l layout) section {
	return rowsSection(l, "by_day", "3. By day (UTC)", "day", r.ByDay)
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
		{"pending (any bucket)", count(h.Pending)},
		{"stuck (pending older than " + dur(r.StuckAfterSeconds) + ")", count(h.Stuck)},
		{"oldest pending age", dur(h.OldestPendingAgeSeconds)},
	}}
}

func (r *Report) errorSection(l layout) section {
	s := section{id: "top_errors", title: "4. Delivery health, top last errors", headers: []string{"last error", "rows", "distinct texts"}}
	for _, e := range r.Health.TopErrors {
		s.rows = append(s.rows, []string{l.clip(e.Error, clipError), count(e.Rows), count(e.Messages)})
	}
	return s
}

func (r *Report) examplesSection(l layout) section {
	s := section{id: "examples", title: "5. Examples", headers: []string{"bucket", "transaction ids"}}
	for _, e := range r.Examples {
		name := e.Bucket
		if name == BucketPending {
			name = "pending (stuck)"
		}
		ids := make([]string, len(e.TransactionIDs))
		for i, id := range e.TransactionIDs {
			ids[i] = l.clip(id, clipKey)
		}
		if l.wide {
			s.rows = append(s.rows, []string{name, strings.Join(ids, " ")})
			continue
		}
		for _, line := range fill(ids, exampleWidth) {
			s.rows = append(s.rows, []string{name, line})
			name = ""
		}
	}
	return s
}

// fill joins words with spaces into lines of at most width runes (a
// longer word gets a line of its own).
func fill(words []string, width int) []string {
	var lines []string
	var line string
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines, line = append(lines, line), w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func (r *Report) ordersSection(l layout) section {
	o := r.Orders
	s := section{id: "orders", title: "Orders reconciliation", headers: []string{"currency", "orders not enqueued", "revenue"}}
	for _, c := range o.NotEnqueued {
		s.rows = append(s.rows, []string{l.currency(c.Currency), count(c.Conversions), c.Revenue.String()})
	}
	s.notes = []string{fmt.Sprintf("%d orders in the window; %d not enqueued; %d with another value or currency in the outbox.",
		o.Orders, sumCounts(o.NotEnqueued), o.MismatchedTotal)}
	return s
}

func (r *Report) mismatchSection(l layout) section {
	s := section{id: "mismatched", title: "Orders that differ from the outbox",
		headers: []string{"transaction id", "order value", "order currency", "outbox value", "outbox currency"}}
	for _, m := range r.Orders.Mismatched {
		s.rows = append(s.rows, []string{l.clip(m.TransactionID, clipKey), m.OrderValue, l.currency(m.OrderCurrency),
			m.OutboxValue, l.currency(m.OutboxCurrency)})
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
		parts = append(parts, fmt.Sprintf("%s %d", printable.Escape(r.Reason), r.Conversions))
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
