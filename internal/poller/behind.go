package poller

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The check (cursor.go) reads, in one snapshot, the row counts and the rows
// with an id above the last one it vouched for, through the primary key,
// which holds two entries per delivered row at most (the claim is a
// heap-only update, migration 000014; the mark adds one): the check costs
// the rows enqueued since, not the dead entries at the head of the claim
// index. It vouches for the rows below a new id when
//
//   - every row that became pending since the last check has a higher id
//     than the one that check vouched up to: the row counts' arrived sum
//     grew by exactly the number of rows above it. A requeued row, or one
//     whose transaction took its id before and committed after, would make
//     the two differ; an insert in another status and such a late commit
//     in the same interval would cancel out (the late row then waits for
//     the next head claim, rewindCleanMax at most);
//   - every leased row is one of this poller's batches in flight (no other
//     worker's lease can have expired behind the cursor), or rewindEvery
//     has not passed since the last head claim.
//
// The new id is the highest one a check saw commitLag ago, or lower: below
// the first claimable row above the last one that sorts before its part's
// cursor. The check returns such rows (a batch at most, lowest ids first)
// and the claim reads them by id.

// checkArgs is what a check compares with.
type checkArgs struct {
	seen         seenRows
	vouch        int64     // the highest id the check may vouch up to (>= seen.maxID)
	leasesMatter bool      // other workers' leases call for a head claim
	fresh        claimFrom // the fresh parts' cursors
}

// checkResult is what a check read.
type checkResult struct {
	total, leased, own int64   // arrived sum, leased rows, this poller's of them
	rows               int64   // rows above seen.maxID
	maxID              int64   // the highest id
	behind             []int64 // claimable rows above seen.maxID before their part's cursor
	vouched            seenRows
}

// consistent reports whether r vouches for the rows below r.vouched.
func (r checkResult) consistent(a checkArgs) bool {
	return r.total-a.seen.arrived == r.rows && (r.leased == r.own || !a.leasesMatter)
}

// sqlCheck is the check. $1 the id the last check vouched up to, $2 the
// highest it may vouch up to now, $3 and $4 the dated cursor, $5 the
// undated one (sqlClaim's $6 - $8; NULL: that part reads from its start,
// so no row is behind it), $6 now, $7 the ids of the poller's batches in
// flight, $8 their lease tokens, $9 the batch size. It returns the
// arrived sum, the leased rows, the poller's own, the rows above $1, the
// highest id, the first $9 claimable rows above $1 before their part's
// cursor, the id it vouches up to (below the first of those), and the rows
// above that. Planned with its arguments, so that the primary key is read
// from $1 on.
const sqlCheck = `
WITH r AS MATERIALIZED (
    SELECT id, status = 'pending' AND retry_at IS NULL AND next_attempt_at <= $6
               AND CASE WHEN deadline_at IS NULL THEN $5::bigint IS NOT NULL AND id <= $5
                        ELSE $4::bigint IS NOT NULL AND (deadline_at, id) <= ($3::timestamptz, $4) END AS behind
      FROM ga4_outbox.events WHERE id > $1::bigint
), n AS (
    SELECT count(*) AS rows, COALESCE(max(id), $1) AS max_id, min(id) FILTER (WHERE behind) AS min_behind FROM r
), v AS (
    SELECT LEAST($2::bigint, n.min_behind - 1, n.max_id) AS w FROM n
)
SELECT t.arrived, t.leased,
       (SELECT count(*) FROM ga4_outbox.events WHERE id = ANY($7::bigint[]) AND lease_token = ANY($8::uuid[])),
       n.rows, n.max_id, ARRAY(SELECT id FROM r WHERE behind ORDER BY id LIMIT $9), v.w,
       (SELECT count(*) FROM r WHERE r.id > v.w)
  FROM ga4_outbox.row_count_totals() AS t, n, v`

// sqlSeenRows reads, in one snapshot before a head claim, the arrived sum,
// the highest id, and the rows above $1 (the id to vouch up to).
const sqlSeenRows = `
SELECT t.arrived, (SELECT COALESCE(max(id), 0) FROM ga4_outbox.events),
       (SELECT count(*) FROM ga4_outbox.events WHERE id > $1::bigint)
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

// start returns where the claim at now starts: from the cursor, after a
// check if one is due, or from the head when the check cannot vouch for
// the rows behind the cursor (or fails).
func (p *Poller) start(ctx context.Context, now time.Time) claimFrom {
	plan, args := p.cursor.plan(now)
	switch plan {
	case planCursor:
		return p.cursor.from()
	case planCheck:
		r, err := p.check(ctx, now, args)
		if err == nil && r.consistent(args) {
			p.cursor.checked(now, r)
			f := p.cursor.from()
			f.checked = true
			return f
		}
		if err != nil {
			p.log.Debug("outbox: checking for rows behind the claim cursor failed", logKeyError, err)
		}
	}
	p.toHead(ctx, now, args.vouch)
	return p.cursor.from()
}

// check runs sqlCheck.
func (p *Poller) check(ctx context.Context, now time.Time, a checkArgs) (checkResult, error) {
	ids, tokens := p.inflight.held()
	var r checkResult
	var above int64
	err := p.db.QueryRow(ctx, sqlCheck, pgx.QueryExecModeCacheDescribe, a.seen.maxID, a.vouch,
		a.fresh.datedDeadline, a.fresh.datedID, a.fresh.undatedID, now, ids, tokens, p.cfg.BatchSize).
		Scan(&r.total, &r.leased, &r.own, &r.rows, &r.maxID, &r.behind, &r.vouched.maxID, &above)
	if err != nil {
		return checkResult{}, fmt.Errorf("check outbox rows behind the claim cursor: %w", err)
	}
	r.vouched.arrived = r.total - above
	if len(r.behind) == 0 {
		r.behind = nil
	}
	return r, nil
}

// toHead reads what the head claim at now vouches for (the rows up to
// vouch, or up to the highest id when vouch is 0) and makes it read from
// the head.
func (p *Poller) toHead(ctx context.Context, now time.Time, vouch int64) {
	above := vouch
	if vouch == 0 {
		above = math.MaxInt64
	}
	var total, maxID, rows int64
	err := p.db.QueryRow(ctx, sqlSeenRows, pgx.QueryExecModeCacheDescribe, above).Scan(&total, &maxID, &rows)
	w := maxID
	if vouch > 0 && vouch < maxID {
		w = vouch
	}
	p.cursor.toHead(now, seenRows{arrived: total - rows, maxID: w}, maxID, err == nil)
}
