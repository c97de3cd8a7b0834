package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// readme is the repository's README, read from this package's folder.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	return string(b)
}

// TestReadmeStaysShort: the README is a newcomer's page; internals,
// tuning and figures live in docs/.
func TestReadmeStaysShort(t *testing.T) {
	t.Parallel()
	require.LessOrEqual(t, len(readme(t)), 12000, "README.md: at most 12,000 bytes; move details to docs/")
}

// TestReadmeShowsTheDemosHeadline: the headline the README quotes as the
// demo's is what `ga4-outbox demo` prints, line for line.
func TestReadmeShowsTheDemosHeadline(t *testing.T) {
	t.Parallel()
	text := readme(t)
	start := strings.Index(text, "REVENUE GA4 CANNOT ATTRIBUTE")
	require.NotEqual(t, -1, start, "README.md quotes the demo's headline")
	excerpt := text[start : start+strings.Index(text[start:], "```")]

	admin := pgtest.ServerURL(t)
	name := "ga4o_readme_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() { _ = demo.DropDatabase(context.Background(), admin, name) })
	r := runCmd(t, map[string]string{"DATABASE_URL": admin}, "demo", "--database", name)
	require.Equal(t, 0, r.code, "%s\n%s", r.stderr, r.stdout)
	for _, line := range strings.Split(strings.TrimRight(excerpt, "\n"), "\n") {
		require.Contains(t, r.stdout, line+"\n", "README.md's demo headline line is not in the demo's output")
	}
}

// TestDemoFitsATerminal: no line of the demo's output is wider than the
// 100 columns its report is laid out for, but the one that names the
// database URL (which cannot be wrapped).
func TestDemoFitsATerminal(t *testing.T) {
	t.Parallel()
	admin := pgtest.ServerURL(t)
	name := "ga4o_width_test_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() { _ = demo.DropDatabase(context.Background(), admin, name) })
	r := runCmd(t, map[string]string{"DATABASE_URL": admin}, "demo", "--orders", "200", "--database", name)
	require.Equal(t, 0, r.code, "%s\n%s", r.stderr, r.stdout)
	for i, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "DATABASE_URL=") {
			continue
		}
		require.LessOrEqual(t, len([]rune(line)), 100, "demo output line %d is too wide:\n%s", i+1, line)
	}
}
