// Command ga4-outbox is the sidecar that delivers GA4 conversions from a
// PostgreSQL outbox table to the Measurement Protocol, and audits what
// attribution was saved or lost. Run "ga4-outbox help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(os.Stderr, err))
}

// env is what every subcommand gets: its arguments, the standard streams
// and the environment, all injectable so tests capture them.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env) error
}

// commands lists every subcommand in the order help prints them. Each lives
// in its own file.
func commands() []command {
	return []command{
		{"migrate", "apply or revert the ga4_outbox schema (up, down, version, force)", runMigrate},
		{"config", "print the effective configuration, secrets masked", runConfig},
		{"run", "run the sidecar: poller, retention, nightly report, /metrics /healthz /readyz", runRun},
		{"drain", "deliver every pending row, then exit (backfills, cron jobs); exit code says if any failed", runDrain},
		{"demo", "the whole loop on a local database: enqueue a day of orders, deliver to the emulator, report", runDemo},
		{"status", "rows by status and reason, oldest pending, next attempts, last errors", runStatus},
		{"retry", "put failed (or chosen skipped) rows back to pending", runRetry},
		{"validate", "validate an MP request body offline (or --remote) and list problems", runValidate},
		{"emulator", "run the Measurement Protocol emulator (records events, injects faults)", runEmulator},
		{"report", "attribution report for a window: table, markdown, csv, json or html; --fail-under for CI", runReport},
		{"outcomes", "what GA4 recorded and credited per purchase: fetch (Data API) or check (credentials, access)", runOutcomes},
		{"version", "print the version and the commit it was built from (also --version)", runVersion},
	}
}

// Run dispatches args to a subcommand.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return run(ctx, &env{args: args, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv})
}

func run(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		printUsage(e.stderr)
		return usageError{errors.New("missing command")}
	}
	switch e.args[0] {
	case "help", "-h", "-help", "--help":
		printUsage(e.stdout)
		return nil
	case "--version", "-version":
		return runVersion(ctx, &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, getenv: e.getenv})
	}
	for _, c := range commands() {
		if c.name == e.args[0] {
			sub := *e
			sub.args = e.args[1:]
			return c.run(ctx, &sub)
		}
	}
	printUsage(e.stderr)
	return usageError{fmt.Errorf("unknown command %q", e.args[0])}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "ga4-outbox: deliver GA4 conversions from a PostgreSQL outbox and audit their attribution.")
	fmt.Fprintln(w, "\nUsage: ga4-outbox <command> [flags]   (ga4-outbox <command> -h for its flags; ga4-outbox --version)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// usageError marks bad command-line input (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitError carries an explicit exit code, with or without a message.
type exitError struct {
	code int
	err  error
}

func (x exitError) Error() string {
	if x.err == nil {
		return fmt.Sprintf("exit status %d", x.code)
	}
	return x.err.Error()
}
func (x exitError) Unwrap() error { return x.err }

// exitCode prints err (when it has something to say) and maps it to the
// process exit code: 0 success, 2 usage, an exitError's own code, else 1.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ue usageError
	var xe exitError
	switch {
	case errors.As(err, &xe):
		if xe.err != nil {
			fmt.Fprintln(stderr, "ga4-outbox:", xe.err)
		}
		return xe.code
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "ga4-outbox:", err)
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	default:
		fmt.Fprintln(stderr, "ga4-outbox:", err)
		return 1
	}
}
