package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// outcomesEnv returns the environment of an outcomes command: a config
// file pointing the Data API at the fake, property 1001 and a
// service-account key the fake issues tokens for.
func outcomesEnv(t *testing.T, fake *outcomestest.Server, dbURL string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte("outcomes:\n  endpoint: "+fake.URL+"\n"), 0o600))
	return map[string]string{"GA4_OUTBOX_CONFIG": path, "GA4_PROPERTY_ID": "1001", "GA4_MEASUREMENT_ID": "G-SHOP1",
		"GA4_OUTBOX_CREDENTIALS_FILE": fake.ServiceAccountKey(t), "DATABASE_URL": dbURL}
}

func TestOutcomesCheck(t *testing.T) {
	t.Parallel()
	t.Run("everything works", func(t *testing.T) {
		t.Parallel()
		fake := outcomestest.New(t)
		res := runCmd(t, outcomesEnv(t, fake, ""), "outcomes", "check")
		require.Equal(t, 0, res.code, res.stderr)
		require.Contains(t, res.stdout, "ok   credentials: service-account key ")
		require.Contains(t, res.stdout, "ok   property 1001 (G-SHOP1): reachable, dimensions and metrics compatible")
	})
	t.Run("a missing credentials file", func(t *testing.T) {
		t.Parallel()
		environ := outcomesEnv(t, outcomestest.New(t), "")
		environ["GA4_OUTBOX_CREDENTIALS_FILE"] = "/nonexistent/key.json"
		res := runCmd(t, environ, "outcomes", "check")
		require.Equal(t, 1, res.code)
		require.Contains(t, res.stdout, "FAIL credentials: bad credentials: credentials file /nonexistent/key.json: cannot read: no such file or directory")
		require.Contains(t, res.stderr, "outcomes check: the credentials cannot be used")
	})
	t.Run("no Viewer role", func(t *testing.T) {
		t.Parallel()
		fake := outcomestest.New(t)
		fake.Lock(func(s *outcomestest.Server) { s.Status["1001"] = 403 })
		environ := outcomesEnv(t, fake, "")
		res := runCmd(t, environ, "outcomes", "check")
		require.Equal(t, 1, res.code)
		require.Contains(t, res.stdout, "FAIL property 1001 (G-SHOP1): checkCompatibility property 1001: permission denied: "+
			"the account needs the Viewer role on GA4 property 1001 (Admin > Property access management")
		require.Contains(t, res.stderr, "outcomes check: 1 of 1 properties failed")
		key, err := os.ReadFile(environ["GA4_OUTBOX_CREDENTIALS_FILE"])
		require.NoError(t, err)
		require.NotContains(t, res.stdout+res.stderr, string(key[len(key)/2:len(key)/2+40]), "never the key")
	})
	t.Run("incompatible dimensions", func(t *testing.T) {
		t.Parallel()
		fake := outcomestest.New(t)
		fake.Lock(func(s *outcomestest.Server) { s.Incompatible = []string{"transactionId"} })
		res := runCmd(t, outcomesEnv(t, fake, ""), "outcomes", "check")
		require.Equal(t, 1, res.code)
		require.Contains(t, res.stdout, "incompatible dimensions and metrics: transactionId (INCOMPATIBLE)")
	})
	t.Run("no property id", func(t *testing.T) {
		t.Parallel()
		environ := outcomesEnv(t, outcomestest.New(t), "")
		delete(environ, "GA4_PROPERTY_ID")
		res := runCmd(t, environ, "outcomes", "check")
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, "outcomes: no GA4 property id configured: set ga4.property_id")
	})
	t.Run("unknown subcommand", func(t *testing.T) {
		t.Parallel()
		res := runCmd(t, nil, "outcomes", "pull")
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, `outcomes: unknown command "pull": use fetch or check`)
	})
}

func TestOutcomesFetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	pool, err := dbconn.OpenPool(ctx, dbURL, 2)
	require.NoError(t, err)
	defer pool.Close()
	day := time.Now().UTC().Add(-96 * time.Hour)
	for _, id := range []string{"F-1", "F-2"} {
		_, err := pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, occurred_at, source)
			VALUES ($1, 10, 'EUR', $2, 'test')`, id, day)
		require.NoError(t, err)
	}
	fake := outcomestest.New(t)
	fake.Add("1001", outcomestest.Purchase{TransactionID: "F-1", Channel: "Email", Revenue: "10", Purchases: 1})
	environ := outcomesEnv(t, fake, dbURL)

	res := runCmd(t, environ, "outcomes", "fetch")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "looked up 2 of 2 orders in 1 request (2 final, 0 provisional): credited 1, not_found 1")
	require.Contains(t, res.stdout, "quota left on property 1001: 14000 tokens")
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.outcomes WHERE final`).Scan(&n))
	require.Equal(t, 2, n)

	res = runCmd(t, environ, "outcomes", "fetch", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, `"due": 0`, "nothing left to look up")

	res = runCmd(t, environ, "outcomes", "fetch", "--since", "2026-03-02", "--until", "2026-03-01")
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "--since 2026-03-02T00:00:00Z must be before --until")
}

func TestOutcomeJobFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	fake := outcomestest.New(t)
	cfg := config.Default()
	cfg.GA4.PropertyID = "1001"
	cfg.Outcomes.Endpoint = fake.URL
	cfg.Outcomes.CredentialsFile = fake.ServiceAccountKey(t)
	_, err := pool.Exec(ctx, `INSERT INTO ga4_outbox.events (transaction_id, value, currency, occurred_at, source)
		VALUES ('J-1', 10, 'EUR', now() - interval '1 day', 'test')`)
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := outcomes.NewMetrics()
	job := &outcomeJob{pool: pool, cfg: cfg, logger: logger, metrics: metrics}
	require.NoError(t, job.run(ctx))
	require.Contains(t, logs.String(), `"msg":"outcomes fetched","looked_up":1`)
	require.Len(t, fake.Requests(), 1)

	cfg.GA4.PropertyID = ""
	jobs := newJobScheduler(logger)
	require.NoError(t, scheduleOutcomes(ctx, jobs, job))
	require.Empty(t, jobs.c.Entries(), "no property id: no job")
	cfg.GA4.PropertyID = "1001"
	require.NoError(t, scheduleOutcomes(ctx, jobs, job))
	require.Len(t, jobs.c.Entries(), 1)
	require.NotContains(t, logs.String(), "will fail")

	cfg.Outcomes.CredentialsFile = filepath.Join(t.TempDir(), "gone.json")
	require.NoError(t, scheduleOutcomes(ctx, newJobScheduler(logger), job))
	require.Contains(t, logs.String(), `"msg":"the outcome fetch will fail until the credentials are fixed"`)
	require.Contains(t, logs.String(), "gone.json: cannot read")
}
