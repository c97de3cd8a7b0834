package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
	r := runCmd(t, nil)
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

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ga4-outbox ") {
		t.Fatalf("exit %d: %q", r.code, r.stdout)
	}
}
