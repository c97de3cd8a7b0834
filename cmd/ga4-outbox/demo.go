package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

const demoUsage = `[--orders N] [--seed S] [--database NAME [--force]]

The whole loop on one machine: creates its own database (default
ga4_outbox_demo, dropped and recreated, nothing else touched; a database
the demo did not create is dropped only with --force) on DATABASE_URL's
server, else the local PostgreSQL on 127.0.0.1:5432 ($GA4_OUTBOX_PG_PROBE),
else a throwaway cluster started from the local PostgreSQL binaries and
removed at the end; starts the GA4 emulator in process; enqueues a day of
orders from several code paths; delivers them; prints the attribution report
and checks it against what was generated.`

// demoContainer starts the demo's PostgreSQL container when nothing else is
// available. It is nil unless the binary is built with -tags containers
// (demo_containers.go): the default binary links no container runtime.
var demoContainer demo.StartFunc

const (
	demoMeasurementID = "G-DEMO2026"
	demoAPISecret     = "demo-api-secret"
)

func runDemo(ctx context.Context, e *env) error {
	fs := newDemoFlags(e)
	orders := fs.Int("orders", 800, "number of orders to generate")
	seed := fs.Uint64("seed", 20260314, "seed of the order generator")
	dbName := fs.String("database", "ga4_outbox_demo", "name of the demo's own database (dropped and recreated when the demo created it)")
	force := fs.Bool("force", false, "drop --database even when the demo did not create it")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *orders < 1 || *orders > 100000 {
		return usageError{fmt.Errorf("demo: --orders %d: must be between 1 and 100000", *orders)}
	}
	start := time.Now()
	srv, err := demo.Server(ctx, e.getenv, demoContainer)
	defer srv.Stop()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(e.stdout, "PostgreSQL: %s; database %s (recreated)\n", srv.How, *dbName)
	dbURL, err := demo.CreateDatabase(ctx, srv.AdminURL, *dbName, *force)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	err = demoLoop(ctx, e.stdout, dbURL, demo.Options{Seed: *seed, Orders: *orders, End: time.Now()})
	if err != nil {
		return err
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	if srv.Throwaway {
		fmt.Fprintf(e.stdout, "\nDone in %s. The throwaway PostgreSQL is removed now; run one to keep the data and explore it.\n", took)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nDone in %s. Explore:\n  DATABASE_URL=%s ga4-outbox status\n", took, redactURL(dbURL))
	return nil
}

// newDemoFlags is newFlags without --config: the demo configures itself.
func newDemoFlags(e *env) *flag.FlagSet {
	fs, _ := newFlags(e, "demo", demoUsage)
	return fs
}

// demoLoop enqueues, delivers and reports on the database at dbURL.
func demoLoop(ctx context.Context, w io.Writer, dbURL string, opts demo.Options) error {
	orders, want, err := demo.Generate(opts)
	if err != nil {
		return err
	}
	pool, err := dbconn.OpenPool(ctx, dbURL, 8)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer pool.Close()
	if err := demo.Enqueue(ctx, pool, orders); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "Enqueued %d orders (seed %d) from web_checkout, payment_webhook, mobile_app\n  and bank_transfer.\n", len(orders), opts.Seed)
	wantRefunds, nRefunds, err := demoRefunds(ctx, w, pool, orders, opts)
	if err != nil {
		return err
	}
	sessions := demo.Sessions(orders, opts.Seed)
	emu, emuURL, stopEmu, err := startDemoEmulator(sessions)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer stopEmu()
	fmt.Fprintf(w, "GA4 emulator: %s (measurement id %s, Data API property %s)\n", emuURL, demoMeasurementID, demoPropertyID)
	if err := demoDeliver(ctx, w, pool, emuURL, int64(len(orders)+nRefunds)); err != nil {
		return err
	}
	if err := demoFetchOutcomes(ctx, w, pool, emuURL, opts.End.Add(-24*time.Hour), opts.End); err != nil {
		return err
	}
	r, err := reconcile.Build(ctx, pool, reconcile.Options{Since: opts.End.Add(-24 * time.Hour), Until: opts.End})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(w)
	if err := r.Render(w, "table"); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := demoCheck(w, want, r, len(orders)); err != nil {
		return err
	}
	if err := demoRefundCheck(w, wantRefunds, r); err != nil {
		return err
	}
	return demoOutcomeCheck(ctx, w, pool, demo.ExpectedOutcomes(orders, sessions, emu.ReportLoses))
}

// startDemoEmulator serves the emulator, its Data API answering for
// demoPropertyID with the sessions' channels seeded.
func startDemoEmulator(sessions map[string]ga4test.Channel) (*ga4test.Server, string, func(), error) {
	emu, err := ga4test.NewServer(&ga4test.Options{Secrets: map[string][]string{demoMeasurementID: {demoAPISecret}},
		Properties: map[string][]string{demoPropertyID: {demoMeasurementID}}, Currency: "EUR",
		Faults: ga4test.Faults{ReportLoseShare: demoLoseShare}})
	if err != nil {
		return nil, "", nil, err
	}
	if err := emu.SeedSessions(sessions); err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("start the emulator: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return emu, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// demoDeliver drains the outbox into the emulator with a progress display.
func demoDeliver(ctx context.Context, w io.Writer, pool *pgxpool.Pool, emuURL string, total int64) error {
	cfg := config.Default()
	cfg.GA4.MeasurementID, cfg.GA4.APISecret, cfg.GA4.Endpoint = demoMeasurementID, demoAPISecret, emuURL
	sender, err := delivery.FromConfig(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	pcfg := pollerConfig(cfg, slog.New(slog.DiscardHandler), nil)
	p, err := poller.New(pool, sender, pcfg)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	update, finish := deliveryProgress(w, total)
	drainCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	stats, err := p.Drain(drainCtx, update)
	finish()
	if err != nil {
		return fmt.Errorf("demo: deliver: %w", err)
	}
	fmt.Fprintf(w, "Delivered %d, skipped %d, failed %d.\n", stats.Delivered, stats.Skipped, stats.Failed)
	return nil
}

// demoCheck prints whether the report says what the generator knows.
func demoCheck(w io.Writer, want demo.Expected, r *reconcile.Report, n int) error {
	diffs := want.Check(r)
	if len(diffs) == 0 {
		fmt.Fprintf(w, "\nCheck: the report matches the %d generated orders in every currency and bucket.\n", n)
		return nil
	}
	fmt.Fprintln(w, "\nCheck: the report differs from what was generated:")
	for _, d := range diffs {
		fmt.Fprintln(w, "  "+d)
	}
	return exitError{code: 1, err: errors.New("demo: the report does not match the generated orders")}
}
