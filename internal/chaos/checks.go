package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// dbRow is one outbox row as the checks read it.
type dbRow struct {
	status, reason, lastError, source string
}

// check reads the outbox and the emulator and fills the report's figures.
func (s *scenario) check(ctx context.Context, emu *emulator, sup *supervisor) error {
	rows, err := s.readOutbox(ctx)
	if err != nil {
		return err
	}
	events := emu.srv.Events()
	seen := map[string]int{}
	for _, e := range events {
		if !e.Dropped {
			seen[e.TransactionID]++
		}
	}
	r := s.rep
	for i := range s.o.Rows {
		s.checkRow(i, rows[txID(i)], seen[txID(i)])
	}
	r.Emulator = emu.srv.Stats()
	r.DroppedEvents = r.Emulator.Dropped
	for _, q := range emu.srv.Requests() {
		if q.Fault == ga4test.FaultDrop && q.Path != "/debug/mp/collect" {
			r.Bound.DroppedConnEvents += q.Events
		}
	}
	for _, n := range seen {
		if n > 1 {
			r.Duplicates += n - 1
		}
	}
	r.Bound.Kills = r.Kills + len(r.UnexpectedExits)
	r.Bound.PerKill = inFlightBatches * batchSize
	logs := append(sup.logFiles(), filepath.Join(s.workDir, "migrate.log"))
	logs = append(logs, s.operatorCommands(ctx)...)
	r.Bound.LogLines, err = scanLogs(logs, s.sec, &r.Bound, &r.Leaks, &r.MetricsAddrs)
	if err != nil {
		return err
	}
	r.Bound.Total = r.Bound.DroppedConnEvents + r.Bound.Kills*r.Bound.PerKill + r.Bound.UnmarkedRows + r.Bound.LeaseLostRows
	if r.Seconds > 0 {
		r.RowsPerSecond = float64(r.Good.Delivered+r.Denied.Skipped+r.Invalid.Skipped) / r.Seconds
	}
	return nil
}

// checkRow classifies one enqueued conversion against what it must become.
func (s *scenario) checkRow(i int, row *dbRow, atEmulator int) {
	r := s.rep
	kind := kindOf(i)
	switch {
	case row == nil:
		r.Lost++ // never enqueued: a writer failure, still a lost conversion
		r.note("%s (%s) is not in the outbox", txID(i), kind)
		return
	case row.status == "pending":
		r.Stuck++
		r.Lost++
		r.note("%s (%s) is still pending", txID(i), kind)
		return
	case row.status != "delivered" && row.reason == "":
		r.Lost++
		r.note("%s (%s) is %s without a reason", txID(i), kind, row.status)
		return
	}
	switch kind {
	case kindGood:
		r.Good.Total++
		if row.status == "delivered" && atEmulator > 0 {
			r.Good.Delivered++
		} else {
			if row.status == "delivered" {
				r.Lost++ // marked delivered, never received: the worst kind of loss
			}
			r.note("good %s is %s/%s at the emulator %d times: %s", txID(i), row.status, row.reason, atEmulator, clip(row.lastError))
		}
	case kindDenied:
		r.Denied.Total++
		r.DeniedAtEmulator += atEmulator
		if row.status == "skipped" && row.reason == "consent_denied" && atEmulator == 0 {
			r.Denied.Skipped++
		} else {
			r.note("denied %s is %s/%s, at the emulator %d times", txID(i), row.status, row.reason, atEmulator)
		}
	case kindInvalid:
		r.Invalid.Total++
		r.InvalidAtEmulator += atEmulator
		if row.status == "skipped" && row.reason == "invalid" && row.lastError != "" && atEmulator == 0 {
			r.Invalid.Skipped++
		} else {
			r.note("invalid %s is %s/%s (%q), at the emulator %d times", txID(i), row.status, row.reason, clip(row.lastError), atEmulator)
		}
	}
}

func (s *scenario) readOutbox(ctx context.Context) (map[string]*dbRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT transaction_id, status, coalesce(reason, ''), coalesce(last_error, ''), coalesce(source, '')
		FROM ga4_outbox.events`)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := map[string]*dbRow{}
	for rows.Next() {
		var tid string
		var r dbRow
		if err := rows.Scan(&tid, &r.status, &r.reason, &r.lastError, &r.source); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		out[tid] = &r
	}
	return out, rows.Err()
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}
