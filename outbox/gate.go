package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// gateLockTimeout bounds how long arming waits for open enqueueing
// transactions; past it the poller claims again and retries.
const gateLockTimeout = "10ms"

// armResult is what arming the gate found.
type armResult int

const (
	gateArmed       armResult = iota // this poller holds the lock: enqueues notify
	gateBusyWriter                   // an enqueueing transaction is still open: claim again
	gateOtherPoller                  // another poller holds it: enqueues notify
)

// gate is an idle poller's wake-up contract with the notify trigger
// (migration 000004): while armed, every enqueueing statement notifies;
// otherwise none does, so the poller claims again before it waits. It owns
// one connection outside the pool, opened on first use.
type gate struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	conn  *pgx.Conn
	armed bool
}

func newGate(pool *pgxpool.Pool, log *slog.Logger) *gate { return &gate{pool: pool, log: log} }

// arm takes the lock, waiting up to gateLockTimeout for open enqueueing
// transactions to end.
func (g *gate) arm(ctx context.Context) (armResult, error) {
	if g.armed {
		return gateArmed, nil
	}
	if err := g.connect(ctx); err != nil {
		return gateBusyWriter, err
	}
	_, err := g.conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, gateLockClass, gateLockObject)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		g.armed = true
		return gateArmed, nil
	case errors.As(err, &pgErr) && pgErr.Code == "55P03": // lock_not_available
		return g.holder(ctx)
	}
	g.close(ctx)
	return gateBusyWriter, fmt.Errorf("arm the notify gate: %w", err)
}

// holder tells whether another poller holds the lock (enqueues notify) or
// an enqueueing transaction does (they do not).
func (g *gate) holder(ctx context.Context) (armResult, error) {
	var other bool
	err := g.conn.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = $1 AND objid = $2 AND objsubid = 2
                  AND mode = 'ExclusiveLock' AND granted)`, gateLockClass, gateLockObject).Scan(&other)
	if err != nil {
		g.close(ctx)
		return gateBusyWriter, fmt.Errorf("read the notify gate's holder: %w", err)
	}
	if other {
		return gateOtherPoller, nil
	}
	return gateBusyWriter, nil
}

// disarm releases the lock: the poller is about to claim, so enqueues need
// not notify.
func (g *gate) disarm(ctx context.Context) {
	if !g.armed {
		return
	}
	g.armed = false
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
	cc.RuntimeParams["lock_timeout"] = gateLockTimeout
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("connect for the notify gate: %w", err)
	}
	g.conn = conn
	return nil
}

// close ends the gate's session (and with it the lock).
func (g *gate) close(ctx context.Context) {
	if g.conn != nil {
		_ = g.conn.Close(context.WithoutCancel(ctx))
		g.conn, g.armed = nil, false
	}
}
