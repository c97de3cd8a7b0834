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

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

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
	st, err := outbox.Status(ctx, pool, time.Now(), *limit)
	if err != nil {
		return fmt.Errorf("status: %w", explainMissingSchema(err))
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(e.stdout, &st)
}

// explainMissingSchema turns "relation does not exist" into advice.
func explainMissingSchema(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
		return fmt.Errorf("the ga4_outbox schema is missing in this database: run ga4-outbox migrate up (%s)", pe.Message)
	}
	return err
}

func printStatus(w io.Writer, st *outbox.StatusReport) error {
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

func printNextAttempts(w io.Writer, st *outbox.StatusReport) error {
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

func printLastErrors(w io.Writer, st *outbox.StatusReport) error {
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
