// Command chaos is the reliability proof of ga4-outbox (make chaos): it runs
// two `ga4-outbox run` processes against a fresh database and a faulty
// Measurement Protocol emulator, enqueues conversions from concurrent
// writers, SIGKILLs one sidecar every few seconds and restarts it,
// restarts PostgreSQL once, drains, and checks that nothing was lost or
// stuck, that no consent-denied row reached the emulator, that every
// invalid row was skipped with its reason, that every good row was
// delivered and that duplicates stay within the bound the faults explain.
// It also scans every log line and error for the API secret and the
// database password. It exits 1 when a check fails, 2 on bad flags.
//
// Everything is loopback: the emulator listens on 127.0.0.1 and the
// sidecars' metrics servers on 127.0.0.1:0.
//
//	go run ./internal/chaos                    # 100,000 rows, PostgreSQL restart
//	go run ./internal/chaos -rows 10000 -pg-restart=false -kills 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// cli parses flags, runs the scenario and returns the exit code.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, jsonOut, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	opts.Logf = func(format string, a ...any) {
		fmt.Fprintf(stdout, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
	}
	rep, err := Run(ctx, opts)
	if rep != nil {
		rep.Print(stdout)
		if jsonOut != "" {
			if werr := writeJSON(jsonOut, rep); werr != nil {
				fmt.Fprintln(stderr, "chaos:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	if !rep.Passed() {
		return 1
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (Options, string, error) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.AdminURL, "database-url", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server (a user that may CREATE DATABASE); a fresh database is created on it and dropped afterwards")
	fs.IntVar(&o.Rows, "rows", o.Rows, "conversions to enqueue")
	fs.IntVar(&o.Writers, "writers", o.Writers, "concurrent writers")
	fs.DurationVar(&o.WriteFor, "write-for", o.WriteFor, "spread the writes over this long")
	fs.IntVar(&o.Kills, "kills", o.Kills, "SIGKILLs of a sidecar (each restarted)")
	fs.DurationVar(&o.KillEvery, "kill-every", o.KillEvery, "time between kills")
	fs.BoolVar(&o.PGRestart, "pg-restart", o.PGRestart, "restart PostgreSQL once in the middle (pg_ctlcluster)")
	fs.StringVar(&o.PGCluster, "pg-cluster", o.PGCluster, "version and name of the cluster pg_ctlcluster restarts")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	fs.StringVar(&o.Binary, "binary", "", "a built ga4-outbox binary (default: go build ./cmd/ga4-outbox)")
	fs.StringVar(&o.WorkDir, "work-dir", "", "where config and process logs go (default: a temporary directory, kept on failure)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the database and the work directory")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return o, *jsonOut, o.validate()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
