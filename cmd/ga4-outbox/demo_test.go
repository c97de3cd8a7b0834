package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
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

	for run := 1; run <= 2; run++ { // the second run proves the demo can be repeated
		start := time.Now()
		r := runCmd(t, environ, "demo", "--orders", "300", "--database", name)
		require.Equal(t, 0, r.code, "run %d: %s\n%s", run, r.stderr, r.stdout)
		require.Less(t, time.Since(start), 45*time.Second, "the demo must finish well under a minute")
		require.Contains(t, r.stdout, "Check: the report matches the 300 generated orders")
		require.Contains(t, r.stdout, "progress: 300/300 rows done", "plain progress lines when not a terminal")
		if run == 2 {
			t.Log("\n" + r.stdout)
			checkPrintedTotals(t, r.stdout)
		}
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
