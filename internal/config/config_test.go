package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(nil, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, 500, cfg.Poller.BatchSize)
	require.Equal(t, time.Minute, cfg.Poller.Lease.D())
	require.True(t, cfg.Poller.ListenEnabled())
	require.Equal(t, "127.0.0.1:9464", cfg.Metrics.Addr)
	require.Equal(t, "global", cfg.GA4.Region)
}

func TestSampleFileMatchesDefaults(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../config.yaml")
	require.NoError(t, err)
	cfg, err := config.Parse(raw, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, config.Default(), cfg, "config.yaml must document exactly the defaults")
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("missing default file is fine", func(t *testing.T) {
		cfg, err := config.Load(filepath.Join(dir, "config.yaml"), false, envOf(nil))
		require.NoError(t, err)
		require.Equal(t, 500, cfg.Poller.BatchSize)
	})
	t.Run("missing named file is an error", func(t *testing.T) {
		_, err := config.Load(filepath.Join(dir, "nope.yaml"), true, envOf(nil))
		require.ErrorContains(t, err, "config: ")
		require.ErrorContains(t, err, "nope.yaml: cannot read: no such file")
	})
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	raw := []byte("database:\n  url: ${APP_DB}\nga4:\n  measurement_id: G-FILE1234\n  endpoint: http://file:1\n")
	t.Run("expansion", func(t *testing.T) {
		cfg, err := config.Parse(raw, envOf(map[string]string{"APP_DB": "postgres://app@db/app"}))
		require.NoError(t, err)
		require.Equal(t, "postgres://app@db/app", cfg.Database.URL)
		require.Equal(t, "G-FILE1234", cfg.GA4.MeasurementID)
	})
	t.Run("overrides win over the file", func(t *testing.T) {
		cfg, err := config.Parse(raw, envOf(map[string]string{
			"DATABASE_URL":       "postgres://env@db/env",
			"GA4_MEASUREMENT_ID": "G-ENV12345",
			"GA4_ENDPOINT":       "http://127.0.0.1:9411",
			"GA4_API_SECRET":     "s3cr3t-value",
		}))
		require.NoError(t, err)
		require.Equal(t, "postgres://env@db/env", cfg.Database.URL)
		require.Equal(t, "G-ENV12345", cfg.GA4.MeasurementID)
		require.Equal(t, "http://127.0.0.1:9411", cfg.GA4.Endpoint)
		require.Equal(t, "s3cr3t-value", cfg.GA4.APISecret.Reveal())
		require.NoError(t, cfg.RequireSending())
	})
}

func TestZeroIsKept(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte("retention:\n  delivered_after: 0s\nreconcile:\n  formats: [html]\n"), envOf(nil))
	require.NoError(t, err)
	require.Zero(t, cfg.Retention.DeliveredAfter)
	require.Equal(t, []string{"html"}, cfg.Reconcile.Formats, "a list replaces the default, never appends")
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(file, []byte("from-file-secret\n"), 0o600))
	raw := []byte("ga4:\n  measurement_id: G-ABC12345\n  api_secret_file: " + file + "\n" +
		"  properties:\n    - measurement_id: G-OTHER123\n      api_secret_env: OTHER_SECRET\n")
	cfg, err := config.Parse(raw, envOf(map[string]string{"OTHER_SECRET": "other-secret"}))
	require.NoError(t, err)
	require.Equal(t, "from-file-secret", cfg.GA4.APISecret.Reveal())

	s, ok := cfg.SecretFor("G-OTHER123")
	require.True(t, ok)
	require.Equal(t, "other-secret", s.Reveal())
	_, ok = cfg.SecretFor("G-UNKNOWN1")
	require.False(t, ok)

	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NotContains(t, string(out), "from-file-secret")
	require.NotContains(t, string(out), "other-secret")
	require.NotContains(t, cfg.GA4.APISecret.String(), "secret")

	_, err = config.Parse([]byte("ga4:\n  api_secret_file: "+filepath.Join(dir, "missing")+"\n"), envOf(nil))
	require.ErrorContains(t, err, "ga4.api_secret_file")
}

func TestRequireSending(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(nil, envOf(nil))
	require.NoError(t, err)
	err = cfg.RequireSending()
	require.ErrorContains(t, err, "ga4.measurement_id: is required")
	require.ErrorContains(t, err, "GA4_API_SECRET")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // each must appear in the error
	}{
		{"unknown key", "poller:\n  batchsize: 3\n", []string{"config: poller.batchsize: unknown key (line 2); did you mean poller.batch_size?"}},
		{"unknown section", "pollers:\n  batch_size: 3\n", []string{"config: pollers: unknown key (line 1); did you mean poller?"}},
		{"key in the wrong section", "batch_size: 3\n", []string{"config: batch_size: unknown key (line 1); did you mean poller.batch_size?"}},
		{"unknown key in a list element", "ga4:\n  properties:\n    - measurment_id: G-OTHER123\n      api_secret_env: X\n",
			[]string{"config: ga4.properties[0].measurment_id: unknown key (line 3); did you mean ga4.properties[0].measurement_id?"}},
		{"nothing near", "zzzzzzzz: 1\n", []string{"config: zzzzzzzz: unknown key (line 1)"}},
		{"wrong type", "poller:\n  batch_size: lots\n", []string{"config: poller.batch_size: cannot unmarshal", "(line 2)"}},
		{"fraction for a whole number", "poller:\n  batch_size: 1.5\n", []string{"config: poller.batch_size: 1.5 is not a whole number (line 2)"}},
		{"fraction in a list element", "retention:\n  batch_size: 2.0\n", []string{"config: retention.batch_size: 2.0 is not a whole number"}},
		{"metrics address without host", "metrics:\n  addr: \"9464\"\n", []string{"config: metrics.addr: \"9464\": must be host:port"}},
		{"metrics address with a bad port", "metrics:\n  addr: \"127.0.0.1:http-alt\"\n", []string{"config: metrics.addr:"}},
		{"unparsable duration", "poller:\n  lease: forever\n", []string{"config: poller.lease: \"forever\" is not a duration", "(line 2)"}},
		{"bad cron", "poller:\n  schedule: every minute\n", []string{"poller.schedule", "not a cron spec"}},
		{"bad nightly cron", "reconcile:\n  schedule: \"CRON_TZ=Mars/Base 0 2 * * *\"\n", []string{"reconcile.schedule"}},
		{"malformed measurement id", "ga4:\n  measurement_id: UA-12345-1\n", []string{"ga4.measurement_id", "not a measurement id"}},
		{"numeric stream id", "ga4:\n  measurement_id: \"1234567890\"\n", []string{"ga4.measurement_id", "not the numeric stream id"}},
		{"bad region", "ga4:\n  region: us\n", []string{"ga4.region", "global or eu"}},
		{"endpoint with query", "ga4:\n  endpoint: http://x/?api_secret=1\n", []string{"ga4.endpoint"}},
		{"zero batch", "poller:\n  batch_size: 0\n", []string{"poller.batch_size", "between 1 and 10000"}},
		{"zero batches in flight", "poller:\n  in_flight_batches: 0\n", []string{"poller.in_flight_batches", "between 1 and 64"}},
		{"too many batches in flight", "poller:\n  in_flight_batches: 65\n", []string{"poller.in_flight_batches", "between 1 and 64"}},
		{"backoff order", "poller:\n  backoff_initial: 1h\n  backoff_max: 1s\n", []string{"poller.backoff_max"}},
		{"missing client id policy", "poller:\n  missing_client_id: drop\n", []string{"poller.missing_client_id", "skip or generate"}},
		{"report format", "reconcile:\n  formats: [pdf]\n", []string{"reconcile.formats", `"pdf"`}},
		{"negative report workers", "reconcile:\n  parallel_workers: -1\n", []string{"reconcile.parallel_workers", "must not be negative"}},
		{"property without secret", "ga4:\n  properties:\n    - measurement_id: G-OTHER123\n", []string{"ga4.properties[0]", "api_secret_env or api_secret_file"}},
		{"not yaml", "poller: [\n", []string{"config: yaml syntax: line"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse([]byte(tc.yaml), envOf(nil))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"127.0.0.1:9464", ":9464", "[::1]:9464", "0.0.0.0:0", "off"} {
		_, err := config.Parse([]byte("metrics:\n  addr: \""+ok+"\"\n"), envOf(nil))
		require.NoError(t, err, ok)
	}
	_, err := config.Parse(nil, envOf(map[string]string{"GA4_OUTBOX_METRICS_ADDR": "9464"}))
	require.ErrorContains(t, err, "config: metrics.addr:", "the environment override is checked at load too")
}

// TestEveryTypeErrorIsReported: yaml.v3 collects type errors, and the
// duration and key checks add theirs; each is its own line with the same
// prefix.
func TestEveryTypeErrorIsReported(t *testing.T) {
	t.Parallel()
	doc := "poller:\n  batch_size: lots\n  lease: forever\n  concurrency: 1.5\n  listen: maybe\n  batchsize: 1\n" +
		"retention:\n  backoff: 1s\n  skipped_after: later\n"
	_, err := config.Parse([]byte(doc), envOf(nil))
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{
		"config: poller.batch_size: cannot unmarshal",
		"config: poller.lease: \"forever\" is not a duration",
		"config: poller.concurrency: 1.5 is not a whole number",
		"config: poller.listen: cannot unmarshal",
		"config: poller.batchsize: unknown key (line 6); did you mean poller.batch_size?",
		"config: retention.backoff: unknown key",
		"config: retention.skipped_after: \"later\" is not a duration",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.Len(t, lines, 7, err.Error())
	for _, l := range lines {
		require.Regexp(t, `^config: [a-z0-9_.\[\]]+: `, l)
	}
}

func TestSeveralProblemsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := config.Parse([]byte("poller:\n  batch_size: -1\n  concurrency: 0\n"), envOf(nil))
	require.Error(t, err)
	require.Equal(t, 2, strings.Count(err.Error(), "config: poller."))
}

// TestExpansionKeepsDollars: only ${NAME} is expanded and $$ is a literal
// $, so the documented orders query ($1, $2) and a password holding a $
// reach the config as written.
func TestExpansionKeepsDollars(t *testing.T) {
	t.Parallel()
	raw := []byte(`database:
  url: postgres://app:pa$word$$1@${DB_HOST}/app
reconcile:
  orders_query: |
    SELECT id::text AS transaction_id, total AS value, currency, paid_at AS occurred_at
    FROM public.orders WHERE paid_at >= $1 AND paid_at < $2 AND note <> '$$1 ${}${1X}$HOME'
    -- the last line is a comment
`)
	cfg, err := config.Parse(raw, envOf(map[string]string{"DB_HOST": "db:5432", "HOME": "/root"}))
	require.NoError(t, err)
	require.Equal(t, "postgres://app:pa$word$1@db:5432/app", cfg.Database.URL)
	require.Equal(t, "SELECT id::text AS transaction_id, total AS value, currency, paid_at AS occurred_at\n"+
		"FROM public.orders WHERE paid_at >= $1 AND paid_at < $2 AND note <> '$1 ${}${1X}$HOME'\n"+
		"-- the last line is a comment\n", cfg.Reconcile.OrdersQuery)

	t.Run("an unset variable expands to nothing", func(t *testing.T) {
		cfg, err := config.Parse([]byte("reconcile:\n  output_dir: /srv/${NOPE}reports\n"), envOf(nil))
		require.NoError(t, err)
		require.Equal(t, "/srv/reports", cfg.Reconcile.OutputDir)
	})
}
