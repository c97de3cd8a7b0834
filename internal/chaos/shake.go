package main

import (
	"context"
	"fmt"
	"time"
)

// shake runs the writers while it SIGKILLs a sidecar every KillEvery
// (alternating) and, halfway through the writes, restarts PostgreSQL. It
// returns when the writers are done and every kill happened.
func (s *scenario) shake(ctx context.Context, sup *supervisor) {
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		start := time.Now()
		retried, err := writeAll(ctx, s.writers, s.o.Rows, s.o.Writers, s.o.WriteFor)
		s.rep.WriterRetries = retried
		if err != nil {
			s.addErr(err)
		}
		s.o.Logf("writers enqueued %d rows in %.1fs (%d chunks retried)", s.o.Rows, time.Since(start).Seconds(), retried)
	}()
	var restart <-chan time.Time
	if s.o.PGRestart {
		restart = time.After(s.o.WriteFor / 2)
	} else {
		s.rep.PGRestart = "not requested"
	}
	tick := time.NewTicker(s.o.KillEvery)
	defer tick.Stop()
	for writing := true; writing || s.rep.Kills < s.o.Kills; {
		select {
		case <-writeDone:
			writing, writeDone = false, nil
		case <-restart:
			s.o.Logf("restarting PostgreSQL (pg_ctlcluster %s restart)", s.o.PGCluster)
			msg, ok := restartPostgres(ctx, s.o.PGCluster)
			s.rep.PGRestart, s.rep.PGRestarted = msg, ok
			s.o.Logf("PostgreSQL %s", msg)
		case <-tick.C:
			if s.rep.Kills >= s.o.Kills {
				continue
			}
			victim := sup.slots[s.rep.Kills%len(sup.slots)]
			if err := sup.kill(victim); err != nil {
				s.addErr(err)
			}
			s.rep.Kills++
			s.o.Logf("SIGKILL %s (kill %d of %d), restarted", victim.name, s.rep.Kills, s.o.Kills)
		case <-ctx.Done():
			if writeDone != nil {
				<-writeDone
			}
			return
		}
	}
}

// sqlPendingCount counts pending rows from the two partial claim indexes
// (migration 000008); a plain status = 'pending' scans the whole table.
const sqlPendingCount = `
SELECT (SELECT count(*) FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NULL)
     + (SELECT count(*) FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NOT NULL)`

// waitDrained waits until no row is pending (the sidecars keep running).
func (s *scenario) waitDrained(ctx context.Context, sup *supervisor) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := int64(-1)
	for n := 0; ; n++ {
		var pending int64
		err := s.pool.QueryRow(ctx, sqlPendingCount).Scan(&pending)
		if err == nil && pending == 0 {
			s.o.Logf("outbox drained")
			return nil
		}
		if err == nil && n%8 == 0 {
			s.o.Logf("%d rows pending", pending)
		}
		if err == nil {
			last = pending
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d rows still pending: %w", last, ctx.Err())
		case <-tick.C:
		}
	}
}
