package poller

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The advisory lock (two-int form) an idle poller holds so that enqueueing
// transactions notify; migration 000004's trigger tries it in shared mode.
const (
	gateLockClass  = 1734423663 // "ga4o"
	gateLockObject = 1
)

// gateAppName is the application_name of the gate's connection.
const gateAppName = "ga4-outbox-gate"

// The gate's poll delays: while an enqueueing transaction is open the
// poller cannot arm and looks again after a delay that starts at
// gatePollMin and doubles up to gatePollMax (reset when a claim finds rows).
const (
	gatePollMin = time.Millisecond
	gatePollMax = 4 * time.Millisecond
)

// After a failure to arm, the poller claims and arms again after a delay
// that starts at gateRetryMin and doubles up to gateRetryMax: while no
// poller holds the gate, enqueues do not notify. When another session holds
// the gate the poller looks again the same way, up to gateOtherMax: that
// session may be ending (a poller killed while armed, or this poller's own
// terminated gate session not yet gone), and nothing would notify after.
// Both delays reset once this poller arms or finds an enqueue open.
const (
	gateRetryMin = 100 * time.Millisecond
	gateRetryMax = 10 * time.Second
	gateOtherMax = time.Second
)

// gateBusyPoll is how long a poller whose last claim found rows waits
// before it claims again (instead of arming the gate).
const gateBusyPoll = 2 * time.Millisecond

// armResult is what arming the gate found.
type armResult int

// The values are arm's SQL answers: keep them 0, 1, 2.
const (
	gateArmed       armResult = iota // this poller holds the lock: enqueues notify
	gateBusyWriter                   // an enqueueing transaction is still open: look again soon
	gateOtherPoller                  // another poller holds it: enqueues notify
)

// gate is an idle poller's wake-up contract with the notify trigger
// (migration 000004): while armed, every enqueueing statement notifies;
// otherwise none does, so the poller claims again before it waits. It owns
// one connection outside the pool, opened on first use. While armed it
// watches that connection: if the session ends (terminated, an
// idle_session_timeout, a cut network), the lock ends with it and enqueues
// stop notifying, so the watch wakes the poller to claim and arm again.
type gate struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	wake    func() // wakes the poller's idle wait
	conn    *pgx.Conn
	armed   bool
	unwatch func()        // ends the watch of an armed gate's connection
	poll    time.Duration // the next delay while a writer keeps the gate
	retry   time.Duration // the next delay after a failure to arm
	busy    bool          // the last claim found rows
}

func newGate(pool *pgxpool.Pool, log *slog.Logger, wake func()) *gate {
	return &gate{pool: pool, log: log, wake: wake}
}

// arm takes the lock if no enqueueing transaction holds it (never
// waiting: a queued request would make every enqueue notify meanwhile).
func (g *gate) arm(ctx context.Context) (armResult, error) {
	if g.armed {
		return gateArmed, nil
	}
	if err := g.connect(ctx); err != nil {
		return gateBusyWriter, err
	}
	var res armResult // the CASE answers with the armResult constants
	err := g.conn.QueryRow(ctx, `
SELECT CASE WHEN pg_try_advisory_lock($1, $2) THEN 0
            WHEN pg_try_advisory_lock_shared($1, $2) AND pg_advisory_unlock_shared($1, $2) THEN 1
            ELSE 2 END`, gateLockClass, gateLockObject).Scan(&res)
	if err != nil {
		g.close(ctx)
		return gateBusyWriter, fmt.Errorf("arm the notify gate: %w", err)
	}
	g.armed = res == gateArmed
	if g.armed {
		g.watch()
	}
	if res != gateOtherPoller {
		g.retry = 0
	}
	if res != gateBusyWriter {
		g.poll = 0
	}
	return res, nil
}

// grow doubles the delay *d within [lo, hi] and returns it: the next wait
// of the gate's poll (a writer keeps it) and retry (arming failed, or
// another session holds it) delays.
func grow(d *time.Duration, lo, hi time.Duration) time.Duration {
	*d = min(max(2**d, lo), hi)
	return *d
}

// claimed records a claim that found rows: the poller is busy, so the gate
// is disarmed and the next idle wait is short.
func (g *gate) claimed(ctx context.Context) {
	g.busy = true
	g.disarm(ctx)
}

// disarm releases the lock: the poller is about to claim, so enqueues need
// not notify.
func (g *gate) disarm(ctx context.Context) {
	g.poll = 0
	if !g.armed {
		return
	}
	g.armed = false
	if lost := g.stopWatch(); lost {
		g.log.Warn("outbox: the notify gate's connection ended while armed; arming again")
		g.close(ctx)
		return
	}
	if _, err := g.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, gateLockClass, gateLockObject); err != nil {
		g.log.Warn("outbox: disarm the notify gate; closing its connection", logKeyError, err)
		g.close(ctx) // ending the session releases the lock
	}
}

func (g *gate) connect(ctx context.Context) error {
	if g.conn != nil {
		return nil
	}
	cc := g.pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["application_name"] = gateAppName
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("connect for the notify gate: %w", err)
	}
	g.conn = conn
	return nil
}

// watch waits on the armed gate's idle connection, which receives nothing
// (it does not LISTEN) until its session ends; then it wakes the poller.
// stopWatch ends the wait (a read deadline, which leaves the connection
// usable) and reports whether the session had ended.
func (g *gate) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	conn := g.conn.PgConn()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for conn.WaitForNotification(ctx) == nil { // not expected: nothing LISTENs here
		}
		if ctx.Err() == nil {
			g.wake()
		}
	}()
	g.unwatch = func() { cancel(); <-done }
}

func (g *gate) stopWatch() (lost bool) {
	if g.unwatch == nil {
		return false
	}
	g.unwatch()
	g.unwatch = nil
	return g.conn.PgConn().IsClosed()
}

// close ends the gate's session (and with it the lock).
func (g *gate) close(ctx context.Context) {
	g.stopWatch()
	if g.conn != nil {
		_ = g.conn.Close(context.WithoutCancel(ctx))
		g.conn, g.armed = nil, false
	}
}
