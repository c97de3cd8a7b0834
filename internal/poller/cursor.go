package poller

import (
	"sync"
	"time"
)

// A claim that reads its index from the head walks past the entries of
// every row claimed since vacuum last ran: the claim and the mark leave
// them behind (the row's old versions stay in events_fresh_idx and
// events_retry_idx until vacuum removes them), and vacuum cannot remove
// them while any snapshot older than them is open (a long transaction, a
// session idle in transaction, a replication slot) or while autovacuum is
// off or busy. Each of those entries costs a table fetch, so draining a
// backlog from the head is quadratic.
//
// A cursor keeps each poller's claims O(batch): while its claims come back
// full it remembers the last claimed key of each index and the next claim
// reads from there. A claim goes back to the head when a row could have
// become claimable before the cursor:
//
//   - the last claim found fewer rows than it asked for (the cursor reached
//     the end of what is claimable now; an idle poller's claims, woken by
//     NOTIFY, are such claims);
//   - rewindEvery passed on the poller's clock since the last head claim:
//     leases of rows the cursor went past expire, rows that a failed claim
//     of another poller had locked are free again, and enqueues committed
//     while no poller waited for a NOTIFY may sort before the cursor;
//   - a NOTIFY arrived (a busy poller hears the ones another, idle poller
//     asked for, and those of a requeue), at least rewindMin after the
//     last head claim.
//
// rewindEvery grows with what a head claim costs (rewindCostFactor times
// its duration, between rewindMin and rewindMax), so that head claims take
// at most about 0.5 % of the claiming time however many dead entries they
// walk, and stay out of the claims' p99. The periodic rewind is put off
// (for up to rewindCleanMax) while the row counts show that no row can be
// behind the cursor (behind.go). Retries need no rewind: a retried row enters events_retry_idx at
// its retry time, after every row that was due when the cursor moved.
type cursor struct {
	mu sync.Mutex
	// fresh is the last claimed key of events_fresh_idx: (deadline_at, id)
	// with dated true, else id among the rows without a deadline (which
	// sort last). ok is false when the next claim reads from the head.
	fresh struct {
		ok, dated bool
		deadline  time.Time
		id        int64
	}
	// retried is the last claimed (retry_at, id) of events_retry_idx.
	retried struct {
		ok bool
		at time.Time
		id int64
	}
	headAt   time.Time     // the last head claim, or when one was put off (behind.go)
	headCost time.Duration // how long the last head claim took
	notified bool          // a NOTIFY arrived since the last head claim
	// lastHead is the poller's clock at the last head claim; arrived the
	// row counts' arrived sum read before it (arrivedOK: it was read and
	// the claim replaced an active cursor). heads counts head claims.
	lastHead  time.Time
	arrived   int64
	arrivedOK bool
	heads     int64
}

const (
	rewindMin        = time.Second
	rewindMax        = 30 * time.Second
	rewindCostFactor = 200
)

// claimFrom holds the cursor arguments of one claim ($6 - $9 of sqlClaim):
// NULL ids read from the head.
type claimFrom struct {
	freshDeadline *time.Time
	freshID       *int64
	retriedAt     *time.Time
	retriedID     *int64
	head          bool // neither part reads from a cursor
}

// notify records a NOTIFY: the next claim at least rewindMin after the
// last head claim reads from the head.
func (c *cursor) notify() {
	c.mu.Lock()
	c.notified = true
	c.mu.Unlock()
}

// from returns where the claim at now starts.
func (c *cursor) from(now time.Time) claimFrom {
	c.mu.Lock()
	defer c.mu.Unlock()
	since := now.Sub(c.headAt)
	every := min(max(rewindMin, rewindCostFactor*c.headCost), rewindMax)
	if since >= every || since < 0 || (c.notified && since >= rewindMin) {
		c.fresh.ok, c.retried.ok, c.notified = false, false, false
	}
	var f claimFrom
	if c.fresh.ok {
		id := c.fresh.id
		f.freshID = &id
		if c.fresh.dated {
			d := c.fresh.deadline
			f.freshDeadline = &d
		}
	}
	if c.retried.ok {
		at, id := c.retried.at, c.retried.id
		f.retriedAt, f.retriedID = &at, &id
	}
	f.head = !c.fresh.ok && !c.retried.ok
	return f
}

// rewindOnlyPeriodic reports whether the claim at now would go back to the
// head only because rewindEvery passed, with an arrived sum to compare
// and less than rewindCleanMax since the last head claim; it returns that
// sum.
func (c *cursor) rewindOnlyPeriodic(now time.Time) (arrived int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	since := now.Sub(c.headAt)
	every := min(max(rewindMin, rewindCostFactor*c.headCost), rewindMax)
	ok = (c.fresh.ok || c.retried.ok) && !c.notified && c.arrivedOK && since >= every &&
		now.Sub(c.lastHead) >= 0 && now.Sub(c.lastHead) < rewindCleanMax
	return c.arrived, ok
}

// putOff moves the periodic head claim to rewindEvery after now.
func (c *cursor) putOff(now time.Time) {
	c.mu.Lock()
	c.headAt = now
	c.mu.Unlock()
}

// active reports whether the next claim would read from a cursor if no
// rewind were due.
func (c *cursor) active() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fresh.ok || c.retried.ok
}

// setArrived records the arrived sum read before a head claim.
func (c *cursor) setArrived(n int64, ok bool) {
	c.mu.Lock()
	c.arrived, c.arrivedOK = n, ok
	c.mu.Unlock()
}

// claimedKey is the index key of one claimed row: retried rows are in
// events_retry_idx, the others in events_fresh_idx.
type claimedKey struct {
	id       int64
	deadline *time.Time // nil: no attribution deadline (sorts last)
	retryAt  *time.Time // nil: never retried
}

// advance moves the cursor past the rows a claim from f returned: full
// says the claim got as many rows as it asked for. took is how long the
// claim ran, now the poller's clock when it started.
func (c *cursor) advance(f claimFrom, keys []claimedKey, full bool, now time.Time, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.head {
		c.headAt, c.headCost, c.lastHead = now, took, now
		c.heads++
	}
	if !full {
		// The cursor reached the end of what is claimable now: the next
		// claim reads from the head (an idle poller that armed its notify
		// gate must see rows committed before that, wherever they sort).
		c.fresh.ok, c.retried.ok = false, false
		return
	}
	for _, k := range keys {
		switch {
		case k.retryAt != nil:
			if !c.retried.ok || keyAfter(*k.retryAt, k.id, c.retried.at, c.retried.id) {
				c.retried.ok, c.retried.at, c.retried.id = true, *k.retryAt, k.id
			}
		case k.deadline == nil:
			if !c.fresh.ok || c.fresh.dated || k.id > c.fresh.id {
				c.fresh.ok, c.fresh.dated, c.fresh.id = true, false, k.id
			}
		default:
			if !c.fresh.ok || (c.fresh.dated && keyAfter(*k.deadline, k.id, c.fresh.deadline, c.fresh.id)) {
				c.fresh.ok, c.fresh.dated, c.fresh.deadline, c.fresh.id = true, true, *k.deadline, k.id
			}
		}
	}
}

// keyAfter reports whether (t, id) sorts after (t0, id0).
func keyAfter(t time.Time, id int64, t0 time.Time, id0 int64) bool {
	return t.After(t0) || (t.Equal(t0) && id > id0)
}
