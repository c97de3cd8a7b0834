package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// TestChaos is the short chaos run of `make test`: 10,000 rows from 4
// writers, two `ga4-outbox run` processes, 3 SIGKILLs, the emulator's
// faults, no PostgreSQL restart (other tests share the server). Every check
// of the full run must hold, and no log line may contain a secret.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	t.Parallel()
	o := DefaultOptions()
	o.DatabaseURL = pgtest.URL(t)
	o.Rows, o.WriteFor, o.Kills, o.KillEvery = 10_000, 4*time.Second, 3, 1500*time.Millisecond
	o.PGRestart, o.Timeout = false, 3*time.Minute
	o.WorkDir = t.TempDir()
	o.Binary = buildForTest(t)
	o.Logf = t.Logf
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	var out bytes.Buffer
	rep.Print(&out)
	t.Log(out.String())
	require.Empty(t, rep.Failures())
	require.Equal(t, 3, rep.Kills)
	require.Positive(t, rep.Emulator.Faults5xx, "the emulator must have injected 5xx")
	require.Positive(t, rep.Emulator.FaultsDrop, "the emulator must have dropped connections")
	require.Equal(t, 9000, rep.Good.Total)
	require.Equal(t, 500, rep.Denied.Total)
	require.Equal(t, 500, rep.Invalid.Total)
	require.Positive(t, rep.Bound.LogLines, "the secret scan must have read the sidecars' logs")
	require.Equal(t, []string{"report", "status"}, rep.OperatorCommands, "report and status must run as the sidecar role")
	require.Equal(t, 9000, rep.ReportBuckets["attributable"])
}

// TestHelpAndConfigNeverShowSecrets runs the built binary's help, run -h
// and config with the API secret and a database password in the
// environment: neither may appear in the output.
func TestHelpAndConfigNeverShowSecrets(t *testing.T) {
	t.Parallel()
	bin := buildForTest(t)
	sec := secrets{apiSecret: "help-secret-" + randomHex(8), dbPassword: "help-pw-" + randomHex(8)}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"DATABASE_URL=postgres://app:" + sec.dbPassword + "@127.0.0.1:5432/app", "GA4_API_SECRET=" + sec.apiSecret,
		"GA4_MEASUREMENT_ID=G-HELPTEST1"}
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "-h"}, {"config"}, {"migrate", "-h"}, {"status", "-h"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, t.TempDir()
		out, _ := cmd.CombinedOutput()
		require.NotEmpty(t, out, "%v printed nothing", args)
		require.Empty(t, sec.find(string(out)), "ga4-outbox %s shows a secret:\n%s", strings.Join(args, " "), out)
	}
}

// TestScanLogsFindsLeaksAndBound feeds scanLog a log with a leaked secret,
// an unmarked batch, lost leases and a metrics address.
func TestScanLogsFindsLeaksAndBound(t *testing.T) {
	t.Parallel()
	sec := secrets{apiSecret: "mp-secret-0123456789abcdef01234567", dbPassword: "pw-xyz"}
	path := filepath.Join(t.TempDir(), "sidecar1-01.log")
	log := `{"level":"INFO","msg":"metrics server listening","addr":"127.0.0.1:4321"}
{"level":"ERROR","msg":"outbox batch not marked; its rows are retried when the lease expires","rows":200,"err":"x"}
{"level":"DEBUG","msg":"outbox batch marked","rows":200,"lease_lost":7}
{"level":"ERROR","msg":"send failed","err":"GET http://x/mp/collect?api_secret=mp-secret-0123456789abcdef012..."}
not json with pw-xyz
`
	require.NoError(t, os.WriteFile(path, []byte(log), 0o644))
	var b Bound
	var leaks, addrs []string
	n, err := scanLogs([]string{path}, sec, &b, &leaks, &addrs)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, 200, b.UnmarkedRows)
	require.Equal(t, 7, b.LeaseLostRows)
	require.Equal(t, []string{"127.0.0.1:4321"}, addrs)
	require.Equal(t, []string{"sidecar1-01.log line 4 contains the API secret", "sidecar1-01.log line 5 contains the database password"}, leaks)
}

// TestReportFailsOnEachBrokenCheck makes sure the report cannot pass when
// a figure is wrong.
func TestReportFailsOnEachBrokenCheck(t *testing.T) {
	t.Parallel()
	good := func() *Report {
		return &Report{Rows: 20, Good: Tally{Total: 18, Delivered: 18}, Denied: Tally{Total: 1, Skipped: 1},
			Invalid: Tally{Total: 1, Skipped: 1}, Duplicates: 3, Bound: Bound{Total: 3}, MetricsAddrs: []string{"127.0.0.1:1"}}
	}
	require.True(t, good().Passed())
	agree := good()
	agree.ReportBuckets = map[string]int{"attributable": 18, "consent_denied": 1, "missing_client_id": 1}
	require.True(t, agree.Passed(), agree.Failures())
	for name, breakIt := range map[string]func(r *Report){
		"lost":             func(r *Report) { r.Lost = 1 },
		"stuck":            func(r *Report) { r.Stuck = 1 },
		"denied sent":      func(r *Report) { r.DeniedAtEmulator = 1 },
		"invalid sent":     func(r *Report) { r.InvalidAtEmulator = 1 },
		"good undelivered": func(r *Report) { r.Good.Delivered = 17 },
		"denied not skip":  func(r *Report) { r.Denied.Skipped = 0 },
		"invalid not skip": func(r *Report) { r.Invalid.Skipped = 0 },
		"duplicates":       func(r *Report) { r.Duplicates = 4 },
		"leak":             func(r *Report) { r.Leaks = []string{"x"} },
		"public metrics":   func(r *Report) { r.MetricsAddrs = []string{"0.0.0.0:9464"} },
		"error":            func(r *Report) { r.Errors = []string{"x"} },
		"report disagrees": func(r *Report) {
			r.ReportBuckets = map[string]int{"attributable": 17, "consent_denied": 1, "invalid": 1}
		},
	} {
		r := good()
		breakIt(r)
		require.False(t, r.Passed(), name)
	}
}

// buildForTest builds the ga4-outbox binary once per test binary.
func buildForTest(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "ga4-outbox-chaos-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path, built.err = buildBinary(context.Background(), "", dir)
	})
	require.NoError(t, built.err)
	return built.path
}
