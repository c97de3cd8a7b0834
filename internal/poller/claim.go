package poller

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// batch is one claimed set of rows and the lease that fences their marking.
type batch struct {
	token    [16]byte
	rows     []Row
	lease    *Lease
	ids      []int64 // the rows' ids, made at the first lease extension
	released bool    // shutdown cut the send short: retries are due at once
}

// claim leases up to BatchSize due rows to this worker (one statement).
func (p *Poller) claim(ctx context.Context) (*batch, error) {
	b := &batch{}
	_, _ = rand.Read(b.token[:])
	b.token[6] = b.token[6]&0x0f | 0x40 // UUID v4
	b.token[8] = b.token[8]&0x3f | 0x80
	now := p.cfg.Now()
	b.lease = newLease(now.Add(p.cfg.Lease), p.cfg.leaseMargin(), p.cfg.Now)
	began := time.Now()
	from := p.start(ctx, now)
	// Planned at every run (an unnamed statement): a generic plan made
	// while the table was small would keep scanning the whole table for
	// the claimed ids after it has grown, until the next ANALYZE.
	start := time.Now()
	rows, err := p.db.Query(ctx, sqlClaim, pgx.QueryExecModeCacheDescribe,
		now, p.cfg.BatchSize, now.Add(p.cfg.Lease), p.cfg.WorkerID, b.token,
		from.datedDeadline, from.datedID, from.undatedID, from.retriedAt, from.retriedID, from.behind)
	if err != nil {
		return nil, fmt.Errorf("claim outbox batch: %w", err)
	}
	defer rows.Close()
	b.rows = p.rowBuf()
	keys := p.keyBuf[:0]
	for rows.Next() {
		var r Row
		var params, userProps []byte
		var sessionAt pgtype.Timestamptz
		k := claimedKey{}
		if err := rows.Scan(&r.ID, &r.Attempt, &r.EventName, &r.TransactionID, &r.Value, &r.Currency,
			&params, &userProps, &r.ClientID, &r.SessionID, &r.UserID,
			&r.AnalyticsStorage, &r.AdUserData, &r.AdPersonalization,
			&sessionAt, &r.OccurredAt, &r.CreatedAt, &r.Source, &r.MeasurementID,
			&k.deadline, &k.retryAt); err != nil {
			return nil, fmt.Errorf("claim outbox batch: scan: %w", err)
		}
		r.Params, r.UserProperties = json.RawMessage(params), json.RawMessage(userProps)
		if sessionAt.Valid {
			r.SessionEventAt = sessionAt.Time
		}
		b.rows = append(b.rows, r)
		k.id = r.ID
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outbox batch: %w", err)
	}
	p.keyBuf = keys
	p.cursor.advance(from, keys, len(b.rows) == p.cfg.BatchSize, now, time.Since(start))
	p.metrics.claimDuration.WithLabelValues(from.start()).Observe(time.Since(began).Seconds())
	return b, nil
}

// rowBuf returns an empty row slice of capacity BatchSize, reused when a
// batch was released.
func (p *Poller) rowBuf() []Row {
	if buf, ok := p.rowBufs.Get().(*[]Row); ok {
		return *buf
	}
	return make([]Row, 0, p.cfg.BatchSize)
}

// release gives b's row slice back for the next claim. b must not be used
// after it.
func (p *Poller) release(b *batch) {
	if b == nil || cap(b.rows) == 0 {
		return
	}
	clear(b.rows) // drop the strings and params for the GC
	buf := b.rows[:0]
	b.rows = nil
	p.rowBufs.Put(&buf)
}

// mark records results[i] for b.rows[i] in one statement and reports which
// rows it marked: the others' lease was lost (another worker holds them).
func (p *Poller) mark(ctx context.Context, b *batch, results []Result) (marked []bool, err error) {
	n := len(b.rows)
	ids := make([]int64, n)
	statuses := make([]string, n)
	reasons := make([]string, n)
	errs := make([]string, n)
	next := make([]time.Time, n)
	tokens := make([]pgtype.UUID, n)
	now := p.cfg.Now()
	for i := range b.rows {
		res := &results[i]
		ids[i], statuses[i], reasons[i], errs[i] = b.rows[i].ID, res.Status, res.Reason, clip(res.Error, maxErrorBytes)
		tokens[i] = pgtype.UUID{Bytes: b.token, Valid: true}
		if res.Status == outbox.StatusPending {
			next[i] = now
			if !b.released && !res.Unsent {
				next[i] = now.Add(p.retryDelay(b.rows[i].Attempt, res.RetryAfter))
			}
		}
	}
	// Planned at every run, as the claim is.
	rows, err := p.db.Query(ctx, sqlMark, pgx.QueryExecModeCacheDescribe, ids, statuses, reasons, errs, next, now, tokens)
	if err != nil {
		return nil, fmt.Errorf("mark outbox batch: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("mark outbox batch: %w", err)
	}
	return markedRows(ids, done), nil
}

// markedRows flags the ids (in batch order) that done lists.
func markedRows(ids, done []int64) []bool {
	set := make(map[int64]struct{}, len(done))
	for _, id := range done {
		set[id] = struct{}{}
	}
	marked := make([]bool, len(ids))
	for i, id := range ids {
		_, marked[i] = set[id]
	}
	return marked
}

// maxErrorBytes bounds last_error (migration 000005's check constraint;
// the report's error index carries the text): longer errors are cut at a
// character boundary.
const maxErrorBytes = 2000

// clip returns s cut to at most n bytes without splitting a UTF-8
// character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
