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
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/internal/printable"
)

func runStatus(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "status", "[--format table|json] [--limit N] [--wide]")
	format := fs.String("format", "table", "output: table or json")
	limit := fs.Int("limit", 10, "rows listed under next attempts and last errors")
	wide := fs.Bool("wide", false, "table: whole error texts (wider than 100 columns)")
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
	st, err := poller.Status(ctx, pool, time.Now(), *limit)
	if err != nil {
		return fmt.Errorf("status: %w", explainMissingSchema(err))
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(e.stdout, &st, *wide)
}

// explainMissingSchema turns "relation ga4_outbox.... does not exist" into
// advice. A missing table of the application's own (an orders query's)
// keeps its message.
func explainMissingSchema(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") && strings.Contains(pe.Message, "ga4_outbox") {
		return fmt.Errorf("the ga4_outbox schema is missing in this database: run ga4-outbox migrate up (%s)", pe.Message)
	}
	return err
}

// statusWidth is the width the status table fits in without --wide.
const statusWidth = 100

// printStatus prints the status report for a terminal: in 100 columns,
// error texts clipped to fit, unless wide. Text from the database is
// escaped (printable.Escape): no control character reaches the terminal.
func printStatus(w io.Writer, st *poller.StatusReport, wide bool) error {
	fmt.Fprintf(w, "Outbox rows: %d\n", st.Total)
	if st.Total == 0 {
		fmt.Fprintln(w, "(the outbox is empty)")
		return nil
	}
	rows := make([][]string, len(st.ByStatus))
	for i, c := range st.ByStatus {
		rows[i] = []string{clip(c.Status, 0), orDash(clip(c.Reason, 0)), strconv.FormatInt(c.Rows, 10),
			c.OldestCreated.UTC().Format(time.RFC3339), c.LastUpdated.UTC().Format(time.RFC3339)}
	}
	if err := writeOpsTable(w, []string{"status", "reason", "rows", "oldest created", "last updated"}, rows); err != nil {
		return err
	}
	p := st.Pending
	fmt.Fprintf(w, "\nPending: %d (due now %d, leased %d, backing off %d)", p.Total, p.Due, p.Leased, p.BackingOff)
	if p.Total > 0 {
		// Counted from the start of the minute the row was created in.
		fmt.Fprintf(w, "; oldest is at most %s old (to the minute)", time.Duration(p.OldestAgeSeconds)*time.Second)
	}
	fmt.Fprintln(w)
	if err := printNextAttempts(w, st, wide); err != nil {
		return err
	}
	return printLastErrors(w, st, wide)
}

func printNextAttempts(w io.Writer, st *poller.StatusReport, wide bool) error {
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
		rows[i] = []string{strconv.FormatInt(n.ID, 10), orDash(clip(n.TransactionID, clipWidth(wide, 24))),
			strconv.Itoa(n.Attempts), when, n.LastError}
	}
	header := []string{"id", "transaction", "attempts", "next attempt", "last error"}
	fitLastColumn(header, rows, wide)
	return writeOpsTable(w, header, rows)
}

// printLastErrors lists the last errors, each row's facts on one line and
// its error under it (a table with the error as a column would not fit
// in 100 columns); --wide prints them as one table with whole texts.
func printLastErrors(w io.Writer, st *poller.StatusReport, wide bool) error {
	if len(st.LastErrors) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nLast errors:")
	if wide {
		rows := make([][]string, len(st.LastErrors))
		for i, l := range st.LastErrors {
			rows[i] = []string{strconv.FormatInt(l.ID, 10), orDash(clip(l.TransactionID, 0)), clip(l.Status, 0), orDash(clip(l.Reason, 0)),
				strconv.Itoa(l.Attempts), l.UpdatedAt.UTC().Format(time.RFC3339), clip(l.Error, 0)}
		}
		return writeOpsTable(w, []string{"id", "transaction", "status", "reason", "attempts", "at", "error"}, rows)
	}
	for _, l := range st.LastErrors {
		status := clip(l.Status, 12)
		if l.Reason != "" {
			status += "/" + clip(l.Reason, 24)
		}
		fmt.Fprintf(w, "  %s  %s  attempts %d  %s  id %d\n", orDash(clip(l.TransactionID, 32)), status, l.Attempts,
			l.UpdatedAt.UTC().Format(time.RFC3339), l.ID)
		fmt.Fprintf(w, "      %s\n", clip(l.Error, statusWidth-6))
	}
	return nil
}

// fitLastColumn clips the last cell of every row (raw text) so that the
// table fits in statusWidth columns, or only escapes it when wide.
func fitLastColumn(header []string, rows [][]string, wide bool) {
	last := len(header) - 1
	used := 3*len(header) + 1 // "| " + " | " between + " |"
	for c := range last {
		width := len([]rune(header[c]))
		for _, row := range rows {
			width = max(width, len([]rune(row[c])))
		}
		used += width
	}
	n := clipWidth(wide, max(statusWidth-used, 16))
	for _, row := range rows {
		row[last] = orDash(clip(row[last], n))
	}
}

func clipWidth(wide bool, n int) int {
	if wide {
		return 0
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip puts s on one line for a table cell: white space runs become one
// space, control characters visible escapes (printable.Escape), and the
// result is cut to n runes (0: not cut).
func clip(s string, n int) string {
	s = printable.Escape(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); n > 0 && len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
