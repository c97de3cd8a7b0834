package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// maxNotes caps the per-row problems kept in the report.
const maxNotes = 20

// Report is what a chaos run found. Passed says whether every check held.
type Report struct {
	Rows      int `json:"rows"`
	Writers   int `json:"writers"`
	Sidecars  int `json:"sidecars"`
	BatchSize int `json:"batch_size"`

	Kills           int      `json:"kills"`
	UnexpectedExits []string `json:"unexpected_exits"`
	Roles           string   `json:"roles"`
	PGRestart       string   `json:"pg_restart"`
	PGRestarted     bool     `json:"pg_restarted"`
	WriterRetries   int      `json:"writer_chunks_retried"`
	Seconds         float64  `json:"seconds"`
	RowsPerSecond   float64  `json:"rows_per_second"`

	Lost              int   `json:"lost"`
	Stuck             int   `json:"stuck"`
	DeniedAtEmulator  int   `json:"consent_denied_at_emulator"`
	InvalidAtEmulator int   `json:"invalid_at_emulator"`
	DroppedEvents     int   `json:"events_dropped_by_emulator"`
	Good              Tally `json:"good"`
	Denied            Tally `json:"consent_denied"`
	Invalid           Tally `json:"invalid"`
	Duplicates        int   `json:"duplicates"`
	Bound             Bound `json:"duplicate_bound"`

	Emulator     ga4test.Stats `json:"emulator"`
	MetricsAddrs []string      `json:"metrics_addrs"`
	// OperatorCommands lists the commands that ran as the sidecar role.
	OperatorCommands []string `json:"operator_commands"`
	// ReportBuckets is `ga4-outbox report`'s conversions per bucket: every
	// good row attributable, denied rows consent_denied, invalid rows
	// invalid (or missing_client_id for the UUID client ids).
	ReportBuckets map[string]int `json:"report_buckets"`
	Scraped       int            `json:"endpoints_scraped"`
	Leaks         []string       `json:"secret_leaks"`
	Notes         []string       `json:"notes"`
	Errors        []string       `json:"errors"`
	WorkDir       string         `json:"work_dir,omitempty"`
}

// Tally counts rows of one kind and how many ended as they must.
type Tally struct {
	Total     int `json:"total"`
	Delivered int `json:"delivered,omitempty"`
	Skipped   int `json:"skipped,omitempty"`
}

// Bound is the most duplicates the faults can explain: every event of a
// request whose connection the emulator closed after reading it (received,
// answer lost, retried); per kill (and per unexpected exit) every row the
// process may have had claimed and unmarked (in-flight batches x batch size);
// every row of a batch whose marking failed (logged "not marked"); every row
// whose lease ran out while its worker still sent it (logged lease_lost).
type Bound struct {
	DroppedConnEvents int `json:"dropped_connection_events"`
	Kills             int `json:"kills_and_exits"`
	PerKill           int `json:"rows_per_kill"`
	UnmarkedRows      int `json:"unmarked_rows"`
	LeaseLostRows     int `json:"lease_lost_rows"`
	Total             int `json:"total"`
	LogLines          int `json:"log_lines_scanned"`
}

func (r *Report) note(format string, a ...any) {
	if len(r.Notes) < maxNotes {
		r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
	}
}

// Failures lists the checks that did not hold (nil when all passed).
func (r *Report) Failures() []string {
	var f []string
	add := func(bad bool, format string, a ...any) {
		if bad {
			f = append(f, fmt.Sprintf(format, a...))
		}
	}
	add(r.Lost != 0, "lost = %d, must be 0", r.Lost)
	add(r.Stuck != 0, "stuck = %d, must be 0", r.Stuck)
	add(r.DeniedAtEmulator != 0, "consent-denied events at the emulator = %d, must be 0", r.DeniedAtEmulator)
	add(r.InvalidAtEmulator != 0, "invalid events at the emulator = %d, must be 0", r.InvalidAtEmulator)
	add(r.Good.Delivered != r.Good.Total, "good rows delivered = %d of %d", r.Good.Delivered, r.Good.Total)
	add(r.Denied.Skipped != r.Denied.Total, "consent-denied rows skipped/consent_denied = %d of %d", r.Denied.Skipped, r.Denied.Total)
	add(r.Invalid.Skipped != r.Invalid.Total, "invalid rows skipped/invalid with last_error = %d of %d", r.Invalid.Skipped, r.Invalid.Total)
	add(r.Duplicates > r.Bound.Total, "duplicates = %d, above the bound %d", r.Duplicates, r.Bound.Total)
	add(r.DroppedEvents != 0, "events the emulator dropped (wrong secret or property) = %d", r.DroppedEvents)
	add(len(r.Leaks) != 0, "secret leaks: %s", strings.Join(r.Leaks, "; "))
	for _, a := range r.MetricsAddrs {
		add(!strings.HasPrefix(a, "127.0.0.1:"), "metrics server bound to %s, not loopback", a)
	}
	add(len(r.MetricsAddrs) == 0, "no sidecar logged its metrics address")
	if r.ReportBuckets != nil {
		b := r.ReportBuckets
		add(b["attributable"] != r.Good.Total || b["consent_denied"] != r.Denied.Total ||
			b["invalid"]+b["missing_client_id"] != r.Invalid.Total || len(b) > 4,
			"the attribution report disagrees with the rows: %v", b)
	}
	add(len(r.Errors) != 0, "errors: %s", strings.Join(r.Errors, "; "))
	return f
}

// Passed reports whether every check held.
func (r *Report) Passed() bool { return len(r.Failures()) == 0 }

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nchaos: %d rows (%d good, %d consent-denied, %d invalid) from %d writers, %d sidecars, batch %d\n",
		r.Rows, r.Good.Total, r.Denied.Total, r.Invalid.Total, r.Writers, r.Sidecars, r.BatchSize)
	fmt.Fprintf(w, "  database roles              %s\n", r.Roles)
	fmt.Fprintf(w, "  kills (SIGKILL + restart)   %d; unexpected exits %d\n", r.Kills, len(r.UnexpectedExits))
	fmt.Fprintf(w, "  PostgreSQL restart          %s\n", r.PGRestart)
	fmt.Fprintf(w, "  emulator                    %d requests: %d answered 5xx, %d 429, %d connections dropped; %d events accepted\n",
		r.Emulator.Requests, r.Emulator.Faults5xx, r.Emulator.Faults429, r.Emulator.FaultsDrop, r.Emulator.Accepted)
	fmt.Fprintf(w, "  lost                        %d\n", r.Lost)
	fmt.Fprintf(w, "  stuck (pending after drain) %d\n", r.Stuck)
	fmt.Fprintf(w, "  consent-denied at emulator  %d (skipped %d of %d)\n", r.DeniedAtEmulator, r.Denied.Skipped, r.Denied.Total)
	fmt.Fprintf(w, "  invalid skipped with reason %d of %d (at emulator %d)\n", r.Invalid.Skipped, r.Invalid.Total, r.InvalidAtEmulator)
	fmt.Fprintf(w, "  good delivered              %d of %d\n", r.Good.Delivered, r.Good.Total)
	b := r.Bound
	fmt.Fprintf(w, "  duplicates at emulator      %d <= bound %d (dropped-connection events %d + %d kills x %d rows + %d unmarked + %d lease-lost)\n",
		r.Duplicates, b.Total, b.DroppedConnEvents, b.Kills, b.PerKill, b.UnmarkedRows, b.LeaseLostRows)
	fmt.Fprintf(w, "  throughput                  %.0f rows/s (%.1fs from first write to drained)\n", r.RowsPerSecond, r.Seconds)
	fmt.Fprintf(w, "  metrics addresses           %s\n", strings.Join(r.MetricsAddrs, ", "))
	fmt.Fprintf(w, "  as the sidecar role         run, %s\n", strings.Join(r.OperatorCommands, ", "))
	fmt.Fprintf(w, "  report buckets              %v\n", r.ReportBuckets)
	fmt.Fprintf(w, "  secret scan                 %d log lines, %d /metrics /healthz /readyz answers, %d leaks\n", b.LogLines, r.Scraped, len(r.Leaks))
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.WorkDir != "" {
		fmt.Fprintf(w, "  logs kept in %s\n", r.WorkDir)
	}
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "FAIL\n  %s\n", strings.Join(f, "\n  "))
		return
	}
	fmt.Fprintln(w, "PASS")
}

// scanErrors records a leak for every error that contains a secret.
func (r *Report) scanErrors(sec secrets) {
	for _, e := range append(append([]string(nil), r.Errors...), r.Notes...) {
		for _, what := range sec.find(e) {
			r.Leaks = append(r.Leaks, "an error contains the "+what)
		}
	}
}

// redact masks the secrets in err.
func redact(err error, sec secrets) error {
	msg := strings.NewReplacer(sec.apiSecret, "********", sec.dbPassword, "********").Replace(err.Error())
	return errors.New(msg)
}
