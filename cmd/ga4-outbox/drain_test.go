package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

const (
	drainProperty = "G-DRAINTEST1"
	drainSecret   = "drain-secret-value"
)

// drainSetup returns a migrated database with the given conversions, an
// emulator and the environment that points drain at both.
func drainSetup(t *testing.T, faults ga4test.Faults, convs ...outbox.Conversion) (*ga4test.Server, map[string]string) {
	t.Helper()
	dbURL := pgtest.URL(t)
	emu := ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{drainProperty: {drainSecret}}, Faults: faults})
	ctx := context.Background()
	pool, err := dbconn.OpenPool(ctx, dbURL, 2)
	require.NoError(t, err)
	defer pool.Close()
	for _, c := range convs {
		_, err := outbox.Enqueue(ctx, pool, c)
		require.NoError(t, err)
	}
	return emu, map[string]string{"DATABASE_URL": dbURL, "GA4_MEASUREMENT_ID": drainProperty,
		"GA4_API_SECRET": drainSecret, "GA4_ENDPOINT": emu.URL, "GA4_OUTBOX_CONFIG": "/dev/null"}
}

func drainConversion(txID, consent string) outbox.Conversion {
	now := time.Now()
	return outbox.Conversion{EventName: "purchase", TransactionID: txID, Value: "12.50", Currency: "EUR",
		ClientID: "123.456", SessionID: fmt.Sprint(now.Add(-5 * time.Minute).Unix()), AnalyticsStorage: consent,
		SessionEventAt: now.Add(-time.Minute)}
}

func TestDrainCommand(t *testing.T) {
	t.Parallel()

	t.Run("DeliversEverythingAndExitsZero", func(t *testing.T) {
		t.Parallel()
		emu, environ := drainSetup(t, ga4test.Faults{Next5xx: 1},
			drainConversion("D-1", "granted"), drainConversion("D-2", ""), drainConversion("D-3", "denied"))
		res := runCmd(t, environ, "drain", "--timeout", "1m")
		require.Equal(t, 0, res.code, res.stderr)
		require.Contains(t, res.stdout, "drained 3 of 3 pending rows: delivered 2, skipped 1, failed 0 (consent_denied 1); retried")
		require.Contains(t, res.stdout, "progress: 3/3 rows done")
		require.Equal(t, 2, emu.Stats().Accepted)
		require.NotContains(t, res.stdout+res.stderr, drainSecret)
	})

	t.Run("FailedRowsExitThree", func(t *testing.T) {
		t.Parallel()
		_, environ := drainSetup(t, ga4test.Faults{Share5xx: 1}, drainConversion("D-fail", "granted"))
		dir := t.TempDir()
		cfg := dir + "/config.yaml"
		require.NoError(t, writeFile(cfg, "poller:\n  max_attempts: 2\n  backoff_initial: 10ms\n  backoff_max: 20ms\n"))
		environ["GA4_OUTBOX_CONFIG"] = cfg
		res := runCmd(t, environ, "drain")
		require.Equal(t, exitDrainFailed, res.code, res.stdout+res.stderr)
		require.Contains(t, res.stdout, "failed 1 (max_attempts 1)")
		require.Contains(t, res.stderr, "1 rows failed")
		require.NotContains(t, res.stdout+res.stderr, drainSecret)
	})

	t.Run("TimeoutExitsFour", func(t *testing.T) {
		t.Parallel()
		_, environ := drainSetup(t, ga4test.Faults{Next429: 1, RetryAfter: time.Hour}, drainConversion("D-slow", "granted"))
		res := runCmd(t, environ, "drain", "--timeout", "1s")
		require.Equal(t, exitDrainTimeout, res.code, res.stdout+res.stderr)
		require.Contains(t, res.stderr, "1 rows still pending")
	})

	t.Run("NeedsASecret", func(t *testing.T) {
		t.Parallel()
		res := runCmd(t, map[string]string{"GA4_MEASUREMENT_ID": drainProperty, "GA4_OUTBOX_CONFIG": "/dev/null"}, "drain")
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, "ga4.api_secret")
	})

	t.Run("BadFlags", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, 2, runCmd(t, nil, "drain", "extra").code)
		require.Equal(t, 2, runCmd(t, nil, "drain", "--timeout", "0s").code)
	})
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
