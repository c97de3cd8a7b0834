// Package pgclustertest has what tests of the throwaway cluster share: an
// address nothing listens on (so that the usual PostgreSQL address looks
// unreachable) and a look for processes left behind.
package pgclustertest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ClosedAddr returns a loopback address nothing listens on.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

// ProcessesMentioning lists the pids whose command line contains s
// (Linux; none elsewhere).
func ProcessesMentioning(tb testing.TB, s string) []string {
	tb.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		tb.Fatal(err)
	}
	var pids []string
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			pids = append(pids, filepath.Base(filepath.Dir(f)))
		}
	}
	return pids
}
