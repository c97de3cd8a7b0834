package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

func TestNightlyJobFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	cfg := config.Default()
	cfg.Reconcile.OutputDir = t.TempDir()
	cfg.Reconcile.Formats = []string{"markdown", "html"}
	now := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id, occurred_at, source)
		VALUES ('N-1', 10, 'EUR', '1.2', '1772409600', '2026-03-01 12:00:00+00', 'web')`)
	require.NoError(t, err)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := reconcile.NewMetrics()
	n := newNightly(pool, cfg, metrics)
	require.NoError(t, runNightly(ctx, n, logger, now))
	require.Contains(t, logs.String(), "nightly report written")
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line per run:\n%s", logs.String())

	var window string
	var files []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT window_start::date::text, files FROM ga4_outbox.reconcile_runs WHERE trigger = 'nightly'`).Scan(&window, &files))
	require.Equal(t, "2026-03-01", window, "the previous day")
	require.Len(t, files, 2)
	for _, f := range files {
		require.Equal(t, cfg.Reconcile.OutputDir, filepath.Dir(f))
		_, err := os.Stat(f)
		require.NoError(t, err)
	}

	logs.Reset()
	require.NoError(t, runNightly(ctx, n, logger, now.Add(time.Hour)))
	require.Contains(t, logs.String(), "nightly report not written here", "the day's report exists already")
	require.Contains(t, logs.String(), `"level":"DEBUG"`, "nothing was done")
	require.Equal(t, 1, strings.Count(logs.String(), "\n"))
}
