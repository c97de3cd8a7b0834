package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
)

// statusReport is what status prints; its JSON form is the --format json
// output.
type statusReport struct {
	GeneratedAt  time.Time      `json:"generated_at"`
	Total        int64          `json:"total"`
	ByStatus     []statusCount  `json:"by_status"`
	Pending      pendingState   `json:"pending"`
	NextAttempts []nextAttempt  `json:"next_attempts"`
	LastErrors   []lastErrorRow `json:"last_errors"`
}

type statusCount struct {
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	Rows          int64     `json:"rows"`
	OldestCreated time.Time `json:"oldest_created_at"`
	LastUpdated   time.Time `json:"last_updated_at"`
}

type pendingState struct {
	Total      int64 `json:"total"`
	Due        int64 `json:"due"`
	Leased     int64 `json:"leased"`
	BackingOff int64 `json:"backing_off"`
	// OldestAgeSeconds is the age of the oldest pending row (from
	// created_at); 0 when nothing is pending.
	OldestAgeSeconds int64 `json:"oldest_age_seconds"`
}

type nextAttempt struct {
	ID            int64     `json:"id"`
	TransactionID string    `json:"transaction_id"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	Leased        bool      `json:"leased"`
	LastError     string    `json:"last_error"`
}

type lastErrorRow struct {
	ID            int64     `json:"id"`
	TransactionID string    `json:"transaction_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	Attempts      int       `json:"attempts"`
	UpdatedAt     time.Time `json:"updated_at"`
	Error         string    `json:"error"`
}

func runStatus(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "status", "[--format table|json] [--limit N]")
	format := fs.String("format", "table", "output: table or json")
	limit := fs.Int("limit", 10, "rows listed under next attempts and last errors")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usageError{fmt.Errorf("status: --format %q: must be table or json", *format)}
	}
	if *limit < 0 || *limit > 1000 {
		return usageError{fmt.Errorf("status: --limit %d: must be between 0 and 1000", *limit)}
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	pool, err := dbconn.OpenPool(ctx, cfg.Database.URL, 2)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer pool.Close()
	st, err := readStatus(ctx, pool, time.Now(), *limit)
	if err != nil {
		return fmt.Errorf("status: %w", explainMissingSchema(err))
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(e.stdout, st)
}

// explainMissingSchema turns "relation does not exist" into advice.
func explainMissingSchema(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
		return fmt.Errorf("the ga4_outbox schema is missing in this database: run ga4-outbox migrate up (%s)", pe.Message)
	}
	return err
}

func readStatus(ctx context.Context, pool *pgxpool.Pool, now time.Time, limit int) (*statusReport, error) {
	st := &statusReport{GeneratedAt: now.UTC(), ByStatus: []statusCount{}, NextAttempts: []nextAttempt{}, LastErrors: []lastErrorRow{}}
	if err := readStatusCounts(ctx, pool, st); err != nil {
		return nil, err
	}
	if err := readPendingState(ctx, pool, now, st); err != nil {
		return nil, err
	}
	var err error
	if st.NextAttempts, err = collectRows(ctx, pool, sqlNextAttempts, limit, func(r pgx.Rows) (nextAttempt, error) {
		var n nextAttempt
		return n, r.Scan(&n.ID, &n.TransactionID, &n.Attempts, &n.NextAttemptAt, &n.Leased, &n.LastError)
	}); err != nil {
		return nil, fmt.Errorf("read next attempts: %w", err)
	}
	if st.LastErrors, err = collectRows(ctx, pool, sqlLastErrors, limit, func(r pgx.Rows) (lastErrorRow, error) {
		var l lastErrorRow
		return l, r.Scan(&l.ID, &l.TransactionID, &l.Status, &l.Reason, &l.Attempts, &l.UpdatedAt, &l.Error)
	}); err != nil {
		return nil, fmt.Errorf("read last errors: %w", err)
	}
	return st, nil
}

func readStatusCounts(ctx context.Context, pool *pgxpool.Pool, st *statusReport) error {
	rows, err := pool.Query(ctx, sqlStatusCounts)
	if err != nil {
		return fmt.Errorf("count rows by status: %w", err)
	}
	st.ByStatus, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (statusCount, error) {
		var c statusCount
		return c, r.Scan(&c.Status, &c.Reason, &c.Rows, &c.OldestCreated, &c.LastUpdated)
	})
	if err != nil {
		return fmt.Errorf("count rows by status: %w", err)
	}
	for _, c := range st.ByStatus {
		st.Total += c.Rows
	}
	return nil
}

func readPendingState(ctx context.Context, pool *pgxpool.Pool, now time.Time, st *statusReport) error {
	var oldest *time.Time
	p := &st.Pending
	if err := pool.QueryRow(ctx, sqlPendingState, now).Scan(&p.Due, &p.Leased, &p.BackingOff, &oldest); err != nil {
		return fmt.Errorf("read pending rows: %w", err)
	}
	p.Total = p.Due + p.Leased + p.BackingOff
	if oldest != nil {
		p.OldestAgeSeconds = max(0, int64(now.Sub(*oldest).Seconds()))
	}
	return nil
}

// collectRows runs a "LIMIT $1" query and scans each row with scan.
func collectRows[T any](ctx context.Context, pool *pgxpool.Pool, sql string, limit int, scan func(pgx.Rows) (T, error)) ([]T, error) {
	out := []T{}
	if limit == 0 {
		return out, nil
	}
	rows, err := pool.Query(ctx, sql, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func printStatus(w io.Writer, st *statusReport) error {
	fmt.Fprintf(w, "Outbox rows: %d\n", st.Total)
	if st.Total == 0 {
		fmt.Fprintln(w, "(the outbox is empty)")
		return nil
	}
	rows := make([][]string, len(st.ByStatus))
	for i, c := range st.ByStatus {
		rows[i] = []string{c.Status, orDash(c.Reason), strconv.FormatInt(c.Rows, 10),
			c.OldestCreated.UTC().Format(time.RFC3339), c.LastUpdated.UTC().Format(time.RFC3339)}
	}
	if err := writeOpsTable(w, []string{"status", "reason", "rows", "oldest created", "last updated"}, rows); err != nil {
		return err
	}
	p := st.Pending
	fmt.Fprintf(w, "\nPending: %d (due now %d, leased %d, backing off %d)", p.Total, p.Due, p.Leased, p.BackingOff)
	if p.Total > 0 {
		fmt.Fprintf(w, "; oldest is %s old", time.Duration(p.OldestAgeSeconds)*time.Second)
	}
	fmt.Fprintln(w)
	if err := printNextAttempts(w, st); err != nil {
		return err
	}
	return printLastErrors(w, st)
}

func printNextAttempts(w io.Writer, st *statusReport) error {
	if len(st.NextAttempts) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nNext attempts:")
	rows := make([][]string, len(st.NextAttempts))
	for i, n := range st.NextAttempts {
		when := "now"
		if d := n.NextAttemptAt.Sub(st.GeneratedAt).Round(time.Second); d > 0 {
			when = "in " + d.String()
		}
		if n.Leased {
			when += " (leased)"
		}
		rows[i] = []string{strconv.FormatInt(n.ID, 10), orDash(n.TransactionID), strconv.Itoa(n.Attempts), when, orDash(clip(n.LastError, 70))}
	}
	return writeOpsTable(w, []string{"id", "transaction", "attempts", "next attempt", "last error"}, rows)
}

func printLastErrors(w io.Writer, st *statusReport) error {
	if len(st.LastErrors) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nLast errors:")
	rows := make([][]string, len(st.LastErrors))
	for i, l := range st.LastErrors {
		rows[i] = []string{strconv.FormatInt(l.ID, 10), orDash(l.TransactionID), l.Status, orDash(l.Reason),
			strconv.Itoa(l.Attempts), l.UpdatedAt.UTC().Format(time.RFC3339), clip(l.Error, 70)}
	}
	return writeOpsTable(w, []string{"id", "transaction", "status", "reason", "attempts", "at", "error"}, rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes on one line for a table cell.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
