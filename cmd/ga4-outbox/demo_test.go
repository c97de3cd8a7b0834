package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster/pgclustertest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// TestDemoReportMatchesGeneratedOrders runs the demo twice on its own
// database and checks that the printed report has the generated numbers.
func TestDemoReportMatchesGeneratedOrders(t *testing.T) {
	t.Parallel()
	admin := pgtest.ServerURL(t)
	name := "ga4o_demo_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() { _ = demo.DropDatabase(context.Background(), admin, name) })
	environ := map[string]string{"DATABASE_URL": admin}
	orders, _, err := demo.Generate(demo.Options{Orders: 300, End: time.Now()})
	require.NoError(t, err)
	refunds, _ := demo.GenerateRefunds(orders, demo.Options{End: time.Now()})
	require.NotEmpty(t, refunds)

	for run := 1; run <= 2; run++ { // the second run proves the demo can be repeated
		r := runCmd(t, environ, "demo", "--orders", "300", "--database", name)
		require.Equal(t, 0, r.code, "run %d: %s\n%s", run, r.stderr, r.stdout)
		require.Contains(t, r.stdout, "Check: the report matches the 300 generated orders")
		require.Contains(t, r.stdout, fmt.Sprintf("progress: %d/%[1]d rows done", 300+len(refunds)), "plain progress lines when not a terminal")
		require.Contains(t, r.stdout, fmt.Sprintf("Check: the refunds section matches the %d generated refunds", len(refunds)))
		require.Contains(t, r.stdout, "Credited in GA4, our label before the send x GA4's outcome")
		require.Regexp(t, `Check: GA4's outcomes match the emulator's rules for the 300 orders\n  \(\d+ credited, \d+ direct, \d+ unassigned, \d+ not found\)`, r.stdout)
		if run == 2 {
			t.Log("\n" + r.stdout)
			checkPrintedTotals(t, r.stdout)
		}
	}
}

// TestDemoDropsOnlyItsOwnDatabases: --database naming a database the demo
// did not create is refused (and left intact) unless --force.
func TestDemoDropsOnlyItsOwnDatabases(t *testing.T) {
	t.Parallel()
	admin := pgtest.ServerURL(t)
	name := "ga4o_foreign_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE DATABASE `+name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = demo.DropDatabase(context.Background(), admin, name) })
	appDB, err := pgx.Connect(ctx, dbconn.WithDatabase(admin, name))
	require.NoError(t, err)
	_, err = appDB.Exec(ctx, `CREATE TABLE orders (id int)`)
	require.NoError(t, err)
	require.NoError(t, appDB.Close(ctx))
	environ := map[string]string{"DATABASE_URL": admin}

	r := runCmd(t, environ, "demo", "--orders", "50", "--database", name)
	require.Equal(t, 1, r.code, "%s\n%s", r.stderr, r.stdout)
	require.Contains(t, r.stderr, "was not created by the demo")
	require.Contains(t, r.stderr, "--force")
	var kept bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&kept))
	require.True(t, kept, "the database is left as it was")

	r = runCmd(t, environ, "demo", "--orders", "50", "--database", name, "--force")
	require.Equal(t, 0, r.code, "%s\n%s", r.stderr, r.stdout)
	var comment string
	require.NoError(t, conn.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment))
	require.Equal(t, demo.Mark, comment, "recreated by the demo, so marked")

	r = runCmd(t, environ, "demo", "--orders", "50", "--database", name)
	require.Equal(t, 0, r.code, "a marked database is recreated without --force: %s", r.stderr)
}

// TestDemoStartsItsOwnCluster: with no DATABASE_URL and nothing on the
// usual address (pointed at a closed port), the demo starts a throwaway
// cluster from the local server binaries, prints the report and leaves no
// process or folder behind (issue 18).
func TestDemoStartsItsOwnCluster(t *testing.T) {
	t.Parallel()
	if _, err := pgcluster.FindBinDir(nil); err != nil {
		if os.Getenv(pgtest.EnvRequire) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	r := runCmd(t, map[string]string{pgcluster.EnvProbeAddr: pgclustertest.ClosedAddr(t)}, "demo", "--orders", "200")
	require.Equal(t, 0, r.code, "%s\n%s", r.stderr, r.stdout)
	m := regexp.MustCompile(`PostgreSQL: a throwaway cluster from \S+ in (\S+) \(removed when the demo ends\)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	require.Contains(t, r.stdout, "Check: the report matches the 200 generated orders")
	require.Contains(t, r.stdout, "The throwaway PostgreSQL is removed now")

	dir := m[1]
	require.NoDirExists(t, dir, "the cluster's folder is removed")
	if runtime.GOOS == "linux" {
		require.Empty(t, pgclustertest.ProcessesMentioning(t, dir), "no postgres process with that data directory remains")
	}
}

// checkPrintedTotals finds each currency's generated order count and
// revenue in the printed table.
func checkPrintedTotals(t *testing.T, out string) {
	t.Helper()
	_, want, err := demo.Generate(demo.Options{Orders: 300, End: time.Now()})
	require.NoError(t, err)
	for _, cur := range []string{"EUR", "USD"} {
		tot := want.Total(cur)
		re := regexp.MustCompile(cur + `\b.*\b` + regexp.QuoteMeta(itoa(tot.Conversions)) + `\b.*` + regexp.QuoteMeta(demo.FormatCents(tot.Cents)))
		require.Regexp(t, re, out, "%s: %d orders, %s", cur, tot.Conversions, demo.FormatCents(tot.Cents))
	}
}
