package outcomes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what Fetch needs of PostgreSQL: a pool, a connection or a
// transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Property pairs a measurement id with its numeric GA4 property id.
type Property struct {
	// MeasurementID is the G- id rows carry in their measurement_id
	// column; empty for the default property (rows without one).
	MeasurementID string
	// PropertyID is the numeric GA4 property id (Admin > Property details).
	PropertyID string
}

// Defaults of Options.
const (
	DefaultLookback  = 7 * 24 * time.Hour
	DefaultBatchSize = 500
	DefaultMinQuota  = 1000
)

// Options tunes Fetch. The zero value looks up the default property's
// purchases of the last 7 days once Properties names it.
type Options struct {
	// Since and Until bound the orders' business time (occurred_at),
	// Since included. Until defaults to now, Since to Until - Lookback.
	Since, Until time.Time
	// Lookback is the window when Since is zero. Defaults to 7 days.
	Lookback time.Duration
	// Properties map measurement ids to property ids. Purchases of a
	// measurement id not listed are not looked up (Fetch logs how many).
	Properties []Property
	// DefaultMeasurementID is the config's default measurement id: rows
	// naming it belong to the default property, like rows naming none.
	DefaultMeasurementID string
	// BatchSize caps the transaction ids of one query. Defaults to 500.
	BatchSize int
	// MinQuota is the margin of quota tokens left to other users of the
	// property: a property whose answer says fewer are left is not queried
	// again in this run. Defaults to 1000; negative means no margin.
	MinQuota int64
	// FinalAfter is the order age at which an outcome is final. Defaults
	// to 72h.
	FinalAfter time.Duration
	// Settle is the age an order must reach before it is looked up:
	// GA4's daily data is about 12 h late (docs/OUTCOMES.md), so a
	// younger order would be stored as not_found only because GA4 has
	// not processed it yet. Younger orders of the window are counted in
	// Summary.Young and left for a later run. Defaults to 24h
	// (DefaultSettle); negative looks up orders of any age (an emulator
	// that reports at once).
	Settle time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger receives a warning per property stopped early and one line
	// for purchases without a property id. Defaults to discarding.
	Logger *slog.Logger
	// Metrics, when set, counts fetches and outcomes.
	Metrics *Metrics
}

func (o *Options) withDefaults() Options {
	d := *o
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Until.IsZero() {
		d.Until = d.Now()
	}
	if d.Since.IsZero() {
		d.Since = d.Until.Add(-cmp.Or(d.Lookback, DefaultLookback))
	}
	d.BatchSize = cmp.Or(d.BatchSize, DefaultBatchSize)
	if d.MinQuota == 0 {
		d.MinQuota = DefaultMinQuota
	}
	d.FinalAfter = cmp.Or(d.FinalAfter, DefaultFinalAfter)
	d.Settle = cmp.Or(d.Settle, DefaultSettle)
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// Summary says what one Fetch did.
type Summary struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Due counts the purchases whose outcome was missing or provisional,
	// of properties with a property id, old enough to look up.
	Due int `json:"due"`
	// LookedUp counts the orders GA4 was asked about and whose outcome was
	// stored; ByOutcome splits them, Final of them are final.
	LookedUp  int             `json:"looked_up"`
	ByOutcome map[Outcome]int `json:"by_outcome"`
	Final     int             `json:"final"`
	// Young counts the window's purchases younger than Options.Settle:
	// not looked up, GA4 has not processed them yet.
	Young int `json:"young"`
	// Left counts the due orders not looked up (quota spent or an error):
	// the next run picks them again.
	Left int `json:"left"`
	// Requests counts the queries answered.
	Requests int `json:"requests"`
	// NoPropertyID counts purchases per measurement id ("" for rows
	// without one) that have no property id configured: never looked up.
	NoPropertyID map[string]int `json:"no_property_id"`
	// QuotaStopped lists the properties whose quota ran out (or fell below
	// the margin) during the run.
	QuotaStopped []string `json:"quota_stopped"`
	// QuotaLeft is each property's smallest remaining token count after
	// its last answer.
	QuotaLeft map[string]int64 `json:"quota_left"`
}

// Fetch looks up in src the purchases of [Since, Until) whose outcome is
// missing or provisional, and stores their outcomes in
// ga4_outbox.outcomes: per property, per day of the time sent to GA4
// (queried with a day more on each side, since the property's time zone
// is unknown), in lists of at most BatchSize ids, one upsert per answer.
//
// When a property's quota runs out (ErrQuotaExhausted, or fewer than
// MinQuota tokens left) Fetch stops querying it and goes on with the
// others; what was stored stays, and the next run picks the rest again.
// Other errors of a property (access, credentials) stop that property
// too and are returned, joined, with the summary. A cancelled ctx stops
// everything.
func Fetch(ctx context.Context, db DB, src Source, opts Options) (*Summary, error) {
	o := opts.withDefaults()
	sum := &Summary{Since: o.Since, Until: o.Until, ByOutcome: map[Outcome]int{},
		NoPropertyID: map[string]int{}, QuotaLeft: map[string]int64{}}
	due, err := loadDue(ctx, db, &o, sum)
	if err != nil {
		o.Metrics.fetched("failed")
		return sum, err
	}
	if len(sum.NoPropertyID) > 0 {
		o.Logger.Warn("purchases not looked up in GA4: their measurement id has no property id (ga4.property_id, ga4.properties[].property_id)",
			"purchases_by_measurement_id", noPropertyAttr(sum.NoPropertyID))
	}
	var errs []error
	for _, batches := range byProperty(due, o.BatchSize) {
		if err := fetchProperty(ctx, db, src, &o, batches, sum); err != nil {
			if ctx.Err() != nil {
				o.Metrics.fetched("failed")
				return sum, err
			}
			errs = append(errs, err)
		}
	}
	o.Metrics.fetchDone(sum, errs)
	return sum, errors.Join(errs...)
}

// noPropertyAttr names the default property's key for the log.
func noPropertyAttr(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[cmp.Or(k, "(default)")] = v
	}
	return out
}

// due is one purchase to look up.
type due struct {
	propertyID, measurementID string
	order                     Order
	eventDay                  time.Time
}

// loadDue reads the purchases to look up, counting those without property.
func loadDue(ctx context.Context, db DB, o *Options, sum *Summary) ([]due, error) {
	mids, pids := make([]string, len(o.Properties)), make([]string, len(o.Properties))
	for i, p := range o.Properties {
		mids[i], pids[i] = p.MeasurementID, p.PropertyID
	}
	rows, err := db.Query(ctx, sqlDue, o.Since, o.Until, mids, pids, o.DefaultMeasurementID)
	if err != nil {
		return nil, fmt.Errorf("select purchases to look up: %w", err)
	}
	defer rows.Close()
	var out []due
	settled := o.Now().Add(-o.Settle) // orders after it are too young
	for rows.Next() {
		var d due
		var pid, mid *string
		if err := rows.Scan(&pid, &mid, &d.order.TransactionID, &d.order.OrderedAt, &d.order.Currency, &d.eventDay); err != nil {
			return nil, fmt.Errorf("read purchases to look up: %w", err)
		}
		if mid != nil {
			d.measurementID = *mid
		}
		if pid == nil {
			sum.NoPropertyID[d.measurementID]++
			continue
		}
		if o.Settle > 0 && d.order.OrderedAt.After(settled) {
			sum.Young++
			continue
		}
		d.propertyID = *pid
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read purchases to look up: %w", err)
	}
	sum.Due = len(out)
	return out, nil
}

// byProperty cuts rows (sorted by property and day) into batches of at
// most size ids of one property and day, grouped per property.
func byProperty(rows []due, size int) [][][]due {
	var props [][][]due
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && n < size && rows[n].propertyID == rows[0].propertyID && rows[n].eventDay.Equal(rows[0].eventDay) {
			n++
		}
		if len(props) == 0 || props[len(props)-1][0][0].propertyID != rows[0].propertyID {
			props = append(props, nil)
		}
		props[len(props)-1] = append(props[len(props)-1], rows[:n])
		rows = rows[n:]
	}
	return props
}

// fetchProperty looks up one property's batches until they are done, its
// quota runs out or an error stops it.
func fetchProperty(ctx context.Context, db DB, src Source, o *Options, batches [][]due, sum *Summary) error {
	pid := batches[0][0].propertyID
	for i, b := range batches {
		a, err := src.Lookup(ctx, query(b))
		if err != nil {
			sum.Left += remaining(batches[i:])
			if errors.Is(err, ErrQuotaExhausted) && ctx.Err() == nil {
				sum.QuotaStopped = append(sum.QuotaStopped, pid)
				o.Logger.Warn("GA4 quota exhausted: the rest waits for the next run", "property_id", pid,
					"orders_left", remaining(batches[i:]), "err", err)
				return nil
			}
			return fmt.Errorf("look up outcomes: %w", err) // err names the property
		}
		sum.Requests++
		if err := store(ctx, db, o, b, a, sum); err != nil {
			sum.Left += remaining(batches[i:])
			return fmt.Errorf("property %s: %w", pid, err)
		}
		if a.Quota != nil {
			sum.QuotaLeft[pid] = a.Quota.Left()
			if o.MinQuota >= 0 && a.Quota.Left() < o.MinQuota && i+1 < len(batches) {
				sum.Left += remaining(batches[i+1:])
				sum.QuotaStopped = append(sum.QuotaStopped, pid)
				o.Logger.Warn("GA4 quota below the margin: the rest waits for the next run", "property_id", pid,
					"tokens_left", a.Quota.Left(), "margin", o.MinQuota, "orders_left", remaining(batches[i+1:]))
				return nil
			}
		}
	}
	return nil
}

func remaining(batches [][]due) int {
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	return n
}

// query asks about batch b: its ids, from the day before its event day to
// the day after.
func query(b []due) Query {
	ids := make([]string, len(b))
	for i, d := range b {
		ids[i] = d.order.TransactionID
	}
	day := b[0].eventDay
	return Query{PropertyID: b[0].propertyID, TransactionIDs: ids,
		StartDate: day.AddDate(0, 0, -1).Format(time.DateOnly), EndDate: day.AddDate(0, 0, 1).Format(time.DateOnly)}
}

// store classifies the orders of batch b from answer a and upserts them in
// one statement.
func store(ctx context.Context, db DB, o *Options, b []due, a *Answer, sum *Summary) error {
	now := o.Now()
	byID := map[string][]Row{}
	for _, r := range a.Rows {
		byID[r.TransactionID] = append(byID[r.TransactionID], r)
	}
	var c columns
	results := make([]Result, len(b))
	for i, d := range b {
		results[i] = Classify(d.order, byID[d.order.TransactionID], a, now, o.FinalAfter)
		c.add(d, &results[i])
	}
	_, err := db.Exec(ctx, sqlUpsert, b[0].propertyID, now, c.txID, c.mid, c.outcome, c.detail, c.final,
		c.channel, c.sourceMedium, c.campaign, c.revenue, c.currency, c.purchases, c.orderedAt)
	if err != nil {
		return fmt.Errorf("store %d outcomes: %w", len(b), err)
	}
	for _, r := range results {
		sum.LookedUp++
		sum.ByOutcome[r.Outcome]++
		if r.Final {
			sum.Final++
		}
		o.Metrics.classified(r.Outcome)
	}
	return nil
}

// columns are the upsert's arrays, one per column; nil pointers are NULL.
type columns struct {
	txID, outcome                                         []string
	mid, detail, channel, sourceMedium, campaign, revenue []*string
	currency                                              []*string
	final                                                 []bool
	purchases                                             []*int64
	orderedAt                                             []time.Time
}

func (c *columns) add(d due, r *Result) {
	c.txID = append(c.txID, d.order.TransactionID)
	c.mid = append(c.mid, orNull(d.measurementID))
	c.outcome = append(c.outcome, string(r.Outcome))
	c.detail = append(c.detail, orNull(r.Detail))
	c.final = append(c.final, r.Final)
	c.channel = append(c.channel, orNull(r.Channel))
	c.sourceMedium = append(c.sourceMedium, orNull(r.SourceMedium))
	c.campaign = append(c.campaign, orNull(r.Campaign))
	c.revenue = append(c.revenue, orNull(r.Revenue))
	c.currency = append(c.currency, orNull(r.Currency))
	c.purchases = append(c.purchases, r.Purchases)
	c.orderedAt = append(c.orderedAt, d.order.OrderedAt)
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Counts returns the outcome counts of s in report order, classes without
// orders left out.
func (s *Summary) Counts() []OutcomeCount {
	var out []OutcomeCount
	for _, k := range Outcomes {
		if n := s.ByOutcome[k]; n > 0 {
			out = append(out, OutcomeCount{k, n})
		}
	}
	return out
}

// OutcomeCount is the number of orders of one outcome.
type OutcomeCount struct {
	Outcome Outcome
	Orders  int
}
