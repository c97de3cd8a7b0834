package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Row kinds, stored in the source column so the checks can find them.
const (
	kindGood    = "chaos:good"
	kindDenied  = "chaos:denied"  // analytics_storage denied: must never be sent
	kindInvalid = "chaos:invalid" // fails validation: must be skipped/invalid
)

// chunkRows is the number of rows one writer transaction inserts.
const chunkRows = 100

// kindOf returns row i's kind: 5 % denied, 5 % invalid, the rest good.
func kindOf(i int) string {
	switch i % 20 {
	case 7:
		return kindDenied
	case 13:
		return kindInvalid
	}
	return kindGood
}

func txID(i int) string { return fmt.Sprintf("CH-%07d", i) }

// rowSet is one chunk as column arrays for INSERT ... SELECT FROM unnest.
type rowSet struct {
	names, tids, values, currencies, params, clients, sources, consents []string
}

// chaosRow is one conversion before it goes into a rowSet.
type chaosRow struct {
	name, currency, client, params, consent string
}

// chunk builds rows [from, to).
func chunk(from, to int) rowSet {
	var r rowSet
	for i := from; i < to; i++ {
		c := rowFor(i)
		r.names, r.tids, r.currencies = append(r.names, c.name), append(r.tids, txID(i)), append(r.currencies, c.currency)
		r.values = append(r.values, strconv.Itoa(i%50)+".99")
		r.params, r.clients, r.sources = append(r.params, c.params), append(r.clients, c.client), append(r.sources, kindOf(i))
		r.consents = append(r.consents, c.consent)
	}
	return r
}

// rowFor builds conversion i: a purchase in EUR or USD from one of 5,000
// browsers. Denied rows have analytics_storage denied; invalid rows rotate
// through four defects real integrations have: a 4-letter currency, a UUID
// client id, a reserved event name and a param value over 100 characters.
func rowFor(i int) chaosRow {
	c := chaosRow{name: "purchase", currency: "EUR", client: fmt.Sprintf("%d.1700000000", 100_000_000+i%5000),
		params:  fmt.Sprintf(`{"items":[{"item_id":"SKU-%d","price":%d.99,"quantity":1}]}`, i%97, i%50),
		consent: "granted"}
	if i%2 == 1 {
		c.currency = "USD"
	}
	switch kindOf(i) {
	case kindDenied:
		c.consent = "denied"
	case kindInvalid:
		switch (i / 20) % 4 {
		case 0:
			c.currency = "EURO"
		case 1:
			c.client = fmt.Sprintf("7c9e6679-7425-40de-944b-%012d", i)
		case 2:
			c.name = "session_start"
		case 3:
			c.params = `{"coupon":"` + strings.Repeat("x", 101) + `"}`
		}
	}
	return c
}

// insertSQL is a raw multi-row INSERT as a non-Go application would write
// it; ON CONFLICT DO NOTHING makes a retried chunk harmless.
const insertSQL = `
INSERT INTO ga4_outbox.events (event_name, transaction_id, value, currency, params, client_id, session_id,
    consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
    session_event_at, occurred_at, source)
SELECT n, t, v::numeric, c, p::jsonb, cl, $9, cs, 'granted', 'denied', $10, $11, s
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
     AS x(n, t, v, c, p, cl, s, cs)
ON CONFLICT DO NOTHING`

// writeAll enqueues Rows conversions from Writers goroutines, spread over
// WriteFor. A chunk that fails (PostgreSQL restarting) is retried until it
// commits; the number of retried chunks is returned.
func writeAll(ctx context.Context, pool *pgxpool.Pool, rows, writers int, spread time.Duration) (retried int, err error) {
	now := time.Now()
	session := strconv.FormatInt(now.Add(-30*time.Minute).Unix(), 10)
	inSession, occurred := now.Add(-20*time.Minute), now.Add(-15*time.Minute)
	chunks := (rows + chunkRows - 1) / chunkRows
	next := make(chan int)
	go func() {
		defer close(next)
		tick := time.NewTicker(max(spread/time.Duration(chunks), time.Microsecond))
		defer tick.Stop()
		for c := range chunks {
			select {
			case next <- c:
			case <-ctx.Done():
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for range writers {
		wg.Go(func() {
			for c := range next {
				r := chunk(c*chunkRows, min((c+1)*chunkRows, rows))
				n, err := insertChunk(ctx, pool, r, session, inSession, occurred)
				mu.Lock()
				retried += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return retried, firstErr
}

func insertChunk(ctx context.Context, pool *pgxpool.Pool, r rowSet, session string, inSession, occurred time.Time) (int, error) {
	for attempt := 0; ; attempt++ {
		_, err := pool.Exec(ctx, insertSQL, r.names, r.tids, r.values, r.currencies, r.params, r.clients, r.sources,
			r.consents, session, inSession, occurred)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, fmt.Errorf("enqueue chunk %s: %w", r.tids[0], ctx.Err())
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
