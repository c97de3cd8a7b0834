package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// Options says what to generate. The zero value plus End is usable.
type Options struct {
	// Seed seeds the generator. Defaults to 20260314.
	Seed uint64
	// Orders is the number of orders. Defaults to 800.
	Orders int
	// End is the end of the generated day: every order occurred in
	// [End-21h, End-5m), so the report window [End-24h, End) holds them all.
	// Required.
	End time.Time
}

// Order is one generated conversion and the bucket the report must put it in.
type Order struct {
	Conversion outbox.Conversion
	Bucket     string
	Cents      int64
}

// Key names one line of the expectation: a currency and a bucket.
type Key struct{ Currency, Bucket string }

// Tally is a number of conversions and their revenue in cents.
type Tally struct {
	Conversions int64
	Cents       int64
}

// Expected is what the report must say about the generated orders.
type Expected map[Key]Tally

// path is one way an order reaches the outbox, with its share of orders.
type path struct {
	share float64
	build func(g *gen, o *Order)
}

// paths are the scenario's code paths and their shares; they add up to 1.
var paths = []path{
	{0.40, (*gen).webCheckout},
	{0.04, (*gen).consentDenied},
	{0.015, (*gen).invalidParam},
	{0.18, (*gen).webhookWithSession},
	{0.13, (*gen).webhookLostSession},
	{0.05, (*gen).webhookLate},
	{0.155, (*gen).mobileApp},
	{0.03, (*gen).bankTransferExpired},
}

// Generate returns the orders and the report's expected numbers.
func Generate(opts Options) ([]Order, Expected, error) {
	if opts.End.IsZero() {
		return nil, nil, fmt.Errorf("demo: Options.End is required")
	}
	if opts.Seed == 0 {
		opts.Seed = 20260314
	}
	if opts.Orders == 0 {
		opts.Orders = 800
	}
	g := &gen{r: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), end: opts.End.UTC().Truncate(time.Second)}
	orders := make([]Order, opts.Orders)
	want := Expected{}
	for i := range orders {
		o := &orders[i]
		g.base(o, i)
		g.pick().build(g, o)
		t := want[Key{o.Conversion.Currency, o.Bucket}]
		t.Conversions++
		t.Cents += o.Cents
		want[Key{o.Conversion.Currency, o.Bucket}] = t
	}
	return orders, want, nil
}

type gen struct {
	r   *rand.Rand
	end time.Time
}

func (g *gen) pick() path {
	u := g.r.Float64()
	for _, p := range paths {
		if u < p.share {
			return p
		}
		u -= p.share
	}
	return paths[0]
}

// between returns a random duration in [lo, hi), whole seconds.
func (g *gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64((hi-lo)/time.Second)))*time.Second
}

// base fills what every order has: id, value, currency, an item, the
// business time and a browser client id.
func (g *gen) base(o *Order, i int) {
	o.Cents = 500 + g.r.Int64N(24500)
	currency := "EUR"
	if g.r.Float64() < 0.3 {
		currency = "USD"
	}
	o.Conversion = outbox.Conversion{
		EventName:        "purchase",
		TransactionID:    fmt.Sprintf("DEMO-%05d", i+1),
		Value:            fmt.Sprintf("%d.%02d", o.Cents/100, o.Cents%100),
		Currency:         currency,
		Items:            []outbox.Item{{ItemID: fmt.Sprintf("SKU-%03d", g.r.IntN(40)), ItemName: "Demo item", Quantity: 1, Price: fmt.Sprintf("%d.%02d", o.Cents/100, o.Cents%100)}},
		ClientID:         fmt.Sprintf("%d.%d", 100000000+g.r.Int64N(900000000), g.end.Add(-g.between(24*time.Hour, 400*24*time.Hour)).Unix()),
		AnalyticsStorage: outbox.ConsentGranted,
		AdUserData:       outbox.ConsentGranted,
		OccurredAt:       g.end.Add(-g.between(5*time.Minute, 20*time.Hour)),
	}
}

// session sets a browser session that started at start with the click at
// click.
func (o *Order) session(start, click time.Time) {
	o.Conversion.SessionID = fmt.Sprint(start.Unix())
	o.Conversion.SessionEventAt = click
}

func (g *gen) webCheckout(o *Order) {
	c := &o.Conversion
	start := c.OccurredAt.Add(-g.between(3*time.Minute, 40*time.Minute))
	o.session(start, c.OccurredAt.Add(-g.between(time.Second, 90*time.Second)))
	c.Source, o.Bucket = "web_checkout", reconcile.BucketAttributable
}

func (g *gen) consentDenied(o *Order) {
	g.webCheckout(o)
	o.Conversion.AnalyticsStorage, o.Conversion.AdUserData = outbox.ConsentDenied, outbox.ConsentDenied
	o.Bucket = reconcile.BucketConsentDenied
}

// invalidParam is a template bug: a parameter name with a hyphen, which
// the Measurement Protocol rejects (NAME_INVALID).
func (g *gen) invalidParam(o *Order) {
	g.webCheckout(o)
	o.Conversion.Params = map[string]any{"promo-code": "SPRING"}
	o.Bucket = reconcile.BucketInvalid
}

// webhookWithSession: checkout click inside the session, payment confirmed
// minutes to two hours later, the session started under 24 h before now.
func (g *gen) webhookWithSession(o *Order) {
	c := &o.Conversion
	click := c.OccurredAt.Add(-g.between(time.Minute, 2*time.Hour))
	o.session(click.Add(-g.between(2*time.Minute, 20*time.Minute)), click)
	c.Source, o.Bucket = "payment_webhook", reconcile.BucketAttributable
}

func (g *gen) webhookLostSession(o *Order) {
	g.webhookWithSession(o)
	o.Conversion.SessionID = ""
	o.Bucket = reconcile.BucketMissingSessionID
}

// webhookLate: an asynchronous payment confirmed more than 24 h after the
// session started (but under 72 h, so it is still sent).
func (g *gen) webhookLate(o *Order) {
	c := &o.Conversion
	start := g.end.Add(-g.between(26*time.Hour, 44*time.Hour))
	o.session(start, start.Add(g.between(2*time.Minute, 20*time.Minute)))
	c.Source, o.Bucket = "payment_webhook", reconcile.BucketLate
}

func (g *gen) mobileApp(o *Order) {
	o.Conversion.ClientID = ""
	o.Conversion.Source, o.Bucket = "mobile_app", reconcile.BucketMissingClientID
}

// bankTransferExpired: the checkout happened more than 72 h before the
// transfer settled; GA would move or reject the event, so it is skipped.
func (g *gen) bankTransferExpired(o *Order) {
	c := &o.Conversion
	start := g.end.Add(-g.between(80*time.Hour, 100*time.Hour))
	o.session(start, start.Add(g.between(2*time.Minute, 20*time.Minute)))
	c.Source, o.Bucket = "bank_transfer", reconcile.BucketExpired
}
