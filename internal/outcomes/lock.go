package outcomes

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is the PostgreSQL advisory lock a scheduled fetch holds, so that
// of several replicas firing at once exactly one queries GA4.
const lockKey int64 = 0x6761346f6f757463 // "ga4ooutc"

// FetchLocked is Fetch for the daily job of several replicas: it takes the
// advisory lock without waiting, on a connection of its own, and fetches
// only when it got it. ran is false when another session holds the lock.
func FetchLocked(ctx context.Context, pool *pgxpool.Pool, src Source, opts Options) (sum *Summary, ran bool, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("outcome fetch: acquire connection: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&locked); err != nil {
		return nil, false, fmt.Errorf("outcome fetch: take lock: %w", err)
	}
	if !locked {
		return nil, false, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session holds no lock; the pool drops it
		}
	}()
	sum, err = Fetch(ctx, pool, src, opts)
	return sum, true, err
}
