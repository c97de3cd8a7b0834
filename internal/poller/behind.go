package poller

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// A cursor goes back to the head of the claim indexes every rewindEvery in
// case a row became claimable behind it, and that claim walks every dead
// entry at the head (seconds at a million rows while vacuum is held back).
// The row counts (counts.go) tell when none can have: no row became
// pending since the poller read their arrived sum before its last head
// claim (an enqueue or a requeue would have), and every leased row is one
// of this poller's batches in flight (so no other worker's lease can have
// expired). Then the periodic head claim is put off, for at most
// rewindCleanMax since the last one: rows that another session had locked
// while the cursor passed them (and let go without claiming) have no
// other sign.

// rewindCleanMax is how long a poller puts off head claims while the row
// counts show that nothing can be behind its cursor.
const rewindCleanMax = 5 * time.Minute

// sqlBehindCursor reads, in one snapshot, the rows that ever became pending
// and the leased rows (row_counts), and how many of the leased rows are
// this poller's: $1 the ids of its batches in flight, $2 their lease
// tokens.
const sqlBehindCursor = `
SELECT t.arrived, t.leased,
       (SELECT count(*) FROM ga4_outbox.events WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::uuid[]))
  FROM ga4_outbox.row_count_totals() AS t`

// inflight holds the batches a poller's engine is sending.
type inflight struct {
	mu      sync.Mutex
	batches map[*batch]struct{}
}

func (f *inflight) add(b *batch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batches == nil {
		f.batches = map[*batch]struct{}{}
	}
	f.batches[b] = struct{}{}
}

func (f *inflight) remove(b *batch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.batches, b)
}

// held returns the ids and lease tokens of the batches in flight.
func (f *inflight) held() (ids []int64, tokens []pgtype.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for b := range f.batches {
		tokens = append(tokens, pgtype.UUID{Bytes: b.token, Valid: true})
		for i := range b.rows {
			ids = append(ids, b.rows[i].ID)
		}
	}
	return ids, tokens
}

// putOffRewind puts off the periodic head claim due at now when the row
// counts show that no row can be behind the cursor. Errors mean a head
// claim, as without the check.
func (p *Poller) putOffRewind(ctx context.Context, now time.Time) {
	arrived, ok := p.cursor.rewindOnlyPeriodic(now)
	if !ok {
		return
	}
	ids, tokens := p.inflight.held()
	var total, leased, own int64
	if err := p.db.QueryRow(ctx, sqlBehindCursor, ids, tokens).Scan(&total, &leased, &own); err != nil {
		p.log.Debug("outbox: reading row counts before a head claim failed", logKeyError, err)
		return
	}
	if total == arrived && leased == own {
		p.cursor.putOff(now)
	}
}

// noteArrivals reads the arrived sum before a head claim that replaces an
// active cursor, so that later checks can compare with it.
func (p *Poller) noteArrivals(ctx context.Context, f claimFrom, wasActive bool) {
	if !f.head {
		return
	}
	if !wasActive {
		p.cursor.setArrived(0, false)
		return
	}
	c, err := readCounts(ctx, p.db)
	p.cursor.setArrived(c.Arrived, err == nil)
}
