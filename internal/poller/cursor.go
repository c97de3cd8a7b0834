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
// backlog from the head is quadratic, and so is every claim of a poller
// that keeps up with a trickle while vacuum is held back.
//
// A cursor keeps each poller's claims O(batch): it remembers the last
// claimed key of each index and the next claim reads from there, whether
// the last claim came back full or found the end of what is claimable. A
// row can become claimable before the cursor: an enqueue with an earlier
// deadline, a requeue, a lease of another worker that expires, a row that
// another session had locked while the cursor passed it. A check (behind.go)
// runs before the claim at most checkEvery after the last one, after a
// NOTIFY and after a claim that found fewer rows than it asked for; it
// reads the rows enqueued since the last check through the primary key,
// and the claim then takes those that sort before the cursor by their ids
// (behind). A claim goes back to the head of the claim indexes only when
// the check cannot vouch for the rows it did not read:
//
//   - a row became pending without a new id above the last one checked (a
//     requeue, or an insert whose transaction stayed open longer than
//     commitLag);
//   - another worker holds leases (one may have expired behind the
//     cursor), and rewindEvery passed since the last head claim;
//   - rewindCleanMax passed since the last head claim (rows that another
//     session had locked have no other sign), or the check failed.
//
// rewindEvery grows with what a head claim costs (rewindCostFactor times
// its duration, between rewindMin and rewindMax), so that head claims take
// at most about 0.5 % of the claiming time however many dead entries they
// walk, and stay out of the claims' p99. Retries need no check: a retried
// row enters events_retry_idx at its retry time, after every row that was
// due when the cursor moved.
type cursor struct {
	mu sync.Mutex
	// dated is the last claimed (deadline_at, id) of events_fresh_idx
	// among the rows with a deadline; undated the last claimed id among
	// those without one (they sort last, in id order: a part of their
	// own). ok is false when that part reads from its start.
	dated struct {
		ok       bool
		deadline time.Time
		id       int64
	}
	undated struct {
		ok bool
		id int64
	}
	// retried is the last claimed (retry_at, id) of events_retry_idx.
	retried struct {
		ok bool
		at time.Time
		id int64
	}
	lastHead  time.Time     // the poller's clock at the last head claim
	headCost  time.Duration // how long the last head claim took
	heads     int64         // head claims made
	lastCheck time.Time     // the last check or head claim
	notified  bool          // a NOTIFY arrived since then
	short     bool          // the last claim found fewer rows than it asked for
	// seen is what the last check or head claim vouched for (behind.go);
	// seenOK is false until a head claim read it.
	seen   seenRows
	seenOK bool
	// behind are rows the last check found before the dated or undated
	// cursor (at most a batch): the next claim reads them, and checks
	// again first.
	behind []int64
	// maxIDs are the highest ids the last checks saw, oldest first: the
	// next check vouches for the ids up to the newest one seen commitLag
	// ago (behind.go).
	maxIDs []idAt
}

// seenRows is what a check vouches for: every row that became pending
// since, up to that check's snapshot, has an id above maxID, and arrived
// is the row counts' arrived sum less the rows above maxID in that
// snapshot. A later snapshot whose arrived sum exceeds arrived by more
// than its rows above maxID saw a row become pending with a lower id.
type seenRows struct {
	arrived int64
	maxID   int64
}

// idAt is the highest id one snapshot saw, and when (the poller's clock).
type idAt struct {
	at time.Time
	id int64
}

const (
	rewindMin        = time.Second
	rewindMax        = 30 * time.Second
	rewindCostFactor = 200
	// rewindCleanMax is the longest time between two head claims.
	rewindCleanMax = 5 * time.Minute
	// checkEvery is the longest time between two checks while claims
	// come back full and no NOTIFY arrives.
	checkEvery = time.Second
	// commitLag is how long after a check saw an id the next checks treat
	// every lower id as committed: an enqueue whose transaction stays open
	// longer, and commits after a row with a higher id was seen, costs a
	// head claim.
	commitLag = 5 * time.Second
)

// claimFrom holds the cursor arguments of one claim ($6 - $11 of
// sqlClaim): NULL ids read from the start of their part.
type claimFrom struct {
	datedDeadline *time.Time
	datedID       *int64
	undatedID     *int64
	retriedAt     *time.Time
	retriedID     *int64
	behind        []int64 // rows a check found before the dated or undated cursor
	head          bool    // no part reads from a cursor
	checked       bool    // a check ran first
}

// start is how the claim started, for the claim_duration_seconds label.
func (f claimFrom) start() string {
	switch {
	case f.head:
		return "head"
	case f.checked:
		return "check"
	}
	return "cursor"
}

// isBehind reports whether a never-retried row's key sorts at or before its
// part's cursor in f (it came from the behind part).
func (f claimFrom) isBehind(k claimedKey) bool {
	switch {
	case k.retryAt != nil:
		return false
	case k.deadline == nil:
		return f.undatedID != nil && k.id <= *f.undatedID
	default:
		return f.datedID != nil && !keyAfter(*k.deadline, k.id, *f.datedDeadline, *f.datedID)
	}
}

// notify records a NOTIFY: the next claim checks first.
func (c *cursor) notify() {
	c.mu.Lock()
	c.notified = true
	c.mu.Unlock()
}

// claimPlan says how the claim at now starts.
type claimPlan int

const (
	planCursor claimPlan = iota // from the cursor
	planCheck                   // check first (behind.go)
	planHead                    // from the head
)

// plan returns how the claim at now starts and what a check compares
// with: the rows seen, the id the check (or a head claim) may vouch up to
// (0: any), the fresh parts' cursors, and whether other workers' leases
// call for a head claim.
func (c *cursor) plan(now time.Time) (claimPlan, checkArgs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var a checkArgs
	for _, m := range c.maxIDs {
		if now.Sub(m.at) >= commitLag && m.id > a.vouch {
			a.vouch = m.id
		}
	}
	sinceHead := now.Sub(c.lastHead)
	if !c.active() || !c.seenOK || sinceHead < 0 || sinceHead >= rewindCleanMax {
		return planHead, a
	}
	sinceCheck := now.Sub(c.lastCheck)
	if sinceCheck >= 0 && sinceCheck < checkEvery && !c.notified && !c.short && len(c.behind) == 0 {
		return planCursor, a
	}
	a.seen, a.vouch = c.seen, max(a.vouch, c.seen.maxID)
	a.leasesMatter = sinceHead >= min(max(rewindMin, rewindCostFactor*c.headCost), rewindMax)
	a.fresh = c.fromLocked()
	return planCheck, a
}

// checked records a check at now that vouched for the rows below it.
func (c *cursor) checked(now time.Time, r checkResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastCheck, c.notified, c.short = now, false, false
	c.seen, c.behind = r.vouched, r.behind
	c.noteMaxID(now, r.maxID)
}

// toHead makes the next claim read from the head, with seen read just
// before it (ok false: it could not be read; the claim after reads from
// the head too).
func (c *cursor) toHead(now time.Time, seen seenRows, maxID int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dated.ok, c.undated.ok, c.retried.ok = false, false, false
	c.lastCheck, c.notified, c.short, c.behind = now, false, false, nil
	c.seen, c.seenOK = seen, ok
	if ok {
		c.noteMaxID(now, maxID)
	}
}

// noteMaxID adds an observation of the highest id, keeping those a later
// check may still vouch with: all younger than commitLag and the newest
// older one.
func (c *cursor) noteMaxID(now time.Time, id int64) {
	keep := 0
	for i, m := range c.maxIDs {
		if now.Sub(m.at) >= commitLag {
			keep = i
		}
	}
	c.maxIDs = append(c.maxIDs[keep:], idAt{at: now, id: id})
}

// from returns where the claim starts when it reads from the cursor.
func (c *cursor) from() claimFrom {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fromLocked()
	f.behind = c.behind
	return f
}

func (c *cursor) fromLocked() claimFrom {
	var f claimFrom
	if c.dated.ok {
		d, id := c.dated.deadline, c.dated.id
		f.datedDeadline, f.datedID = &d, &id
	}
	if c.undated.ok {
		id := c.undated.id
		f.undatedID = &id
	}
	if c.retried.ok {
		at, id := c.retried.at, c.retried.id
		f.retriedAt, f.retriedID = &at, &id
	}
	f.head = !c.active()
	return f
}

// active reports whether any part reads from a cursor.
func (c *cursor) active() bool { return c.dated.ok || c.undated.ok || c.retried.ok }

// claimedKey is the index key of one claimed row: retried rows are in
// events_retry_idx, the others in events_fresh_idx.
type claimedKey struct {
	id       int64
	deadline *time.Time // nil: no attribution deadline (sorts last)
	retryAt  *time.Time // nil: never retried
}

// advance moves the cursor past the rows a claim from f returned (rows
// the behind part read stay behind it): full says the claim got as many
// rows as it asked for. took is how long the claim ran, now the poller's
// clock when it started.
func (c *cursor) advance(f claimFrom, keys []claimedKey, full bool, now time.Time, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.head {
		c.lastHead, c.headCost = now, took
		c.heads++
	}
	c.short = !full
	for _, k := range keys {
		if f.isBehind(k) {
			continue
		}
		switch {
		case k.retryAt != nil:
			if !c.retried.ok || keyAfter(*k.retryAt, k.id, c.retried.at, c.retried.id) {
				c.retried.ok, c.retried.at, c.retried.id = true, *k.retryAt, k.id
			}
		case k.deadline == nil:
			if !c.undated.ok || k.id > c.undated.id {
				c.undated.ok, c.undated.id = true, k.id
			}
		default:
			if !c.dated.ok || keyAfter(*k.deadline, k.id, c.dated.deadline, c.dated.id) {
				c.dated.ok, c.dated.deadline, c.dated.id = true, *k.deadline, k.id
			}
		}
	}
}

// keyAfter reports whether (t, id) sorts after (t0, id0).
func keyAfter(t time.Time, id int64, t0 time.Time, id0 int64) bool {
	return t.After(t0) || (t.Equal(t0) && id > id0)
}
