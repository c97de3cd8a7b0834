package poller

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// listenAppName is the application_name of the LISTEN connection, so
// operators (and tests) can find it in pg_stat_activity.
const listenAppName = "ga4-outbox-listen"

// listen keeps a LISTEN connection open and calls wake on each
// notification. When the connection drops it reconnects with backoff
// (100ms doubling to 10s) and wakes once, since notifications sent while it
// was away are lost.
func (p *Poller) listen(ctx context.Context, wake func()) {
	delay := 100 * time.Millisecond
	for {
		err := p.listenOnce(ctx, wake, func() { delay = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("outbox LISTEN connection lost; reconnecting", logKeyError, err, logKeyBackoff, delay)
		p.metrics.listenReconnects.Inc()
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, 10*time.Second)
	}
}

func (p *Poller) listenOnce(ctx context.Context, wake, connected func()) error {
	cc := p.db.Config().ConnConfig.Copy()
	cc.RuntimeParams["application_name"] = listenAppName
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("connect for LISTEN: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("listen %s: %w", NotifyChannel, err)
	}
	connected()
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		wake()
	}
}
