package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// result is what a command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs the CLI in-process with the given environment (nothing is
// inherited from the test process) and returns what it printed.
func runCmd(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	return runCmdInput(t, environ, "", args...)
}

// runCmdInput is runCmd with stdin.
func runCmdInput(t *testing.T, environ map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{
		args:   args,
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errOut,
		getenv: func(k string) string { return environ[k] },
	}
	err := run(context.Background(), e)
	code := exitCode(&errOut, err)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil, "help")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, c := range commands() {
		if !strings.Contains(r.stdout, c.name) {
			t.Errorf("help does not list %q", c.name)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil, "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("want exit 2 naming the command, got %d: %s", r.code, r.stderr)
	}
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "Usage: ga4-outbox <command>")
	require.Contains(t, r.stderr, "missing command")
	require.Empty(t, r.stdout, "usage on a mistake goes to stderr")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil, "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `^ga4-outbox \S+ \(commit `, r.stdout)
	flag := runCmd(t, nil, "--version")
	require.Equal(t, 0, flag.code, flag.stderr)
	require.Equal(t, r.stdout, flag.stdout, "--version and version print the same line")
}

func TestVersionLine(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{
		GoVersion: "go1.26.1",
		Main:      debug.Module{Path: "github.com/ga4-outbox/ga4-outbox", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-03-14T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	require.Equal(t, "ga4-outbox v1.4.0 (commit 0123456789ab, modified, 2026-03-14T10:00:00Z, go1.26.1)", versionLine("dev", info))
	require.Equal(t, "ga4-outbox v2.0.0-rc1 (commit 0123456789ab, modified, 2026-03-14T10:00:00Z, go1.26.1)",
		versionLine("v2.0.0-rc1", info), "-ldflags -X main.version wins")
	info.Main.Version, info.Settings = "(devel)", nil
	require.Equal(t, "ga4-outbox dev (commit unknown, go1.26.1)", versionLine("dev", info))
	require.Equal(t, "ga4-outbox dev (commit unknown)", versionLine("dev", nil))
}
