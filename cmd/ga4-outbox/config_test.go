package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigCommand(t *testing.T) {
	t.Parallel()
	t.Run("masks the secret and the database password", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, map[string]string{
			"GA4_API_SECRET":     "topsecretvalue",
			"GA4_MEASUREMENT_ID": "G-ABC12345",
			"DATABASE_URL":       "postgres://app:dbpassword@db:5432/app",
		}, "config")
		require.Equal(t, 0, r.code, r.stderr)
		require.NotContains(t, r.stdout, "topsecretvalue")
		require.NotContains(t, r.stdout, "dbpassword")
		require.Contains(t, r.stdout, "measurement_id: G-ABC12345")
		require.Contains(t, r.stdout, "app:xxxxx@db:5432")
		require.Contains(t, r.stdout, "ga4.api_secret: set (masked)")
	})
	t.Run("help never shows the secret", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, map[string]string{"GA4_API_SECRET": "topsecretvalue"}, "config", "-h")
		require.Equal(t, 0, r.code)
		require.NotContains(t, r.stdout+r.stderr, "topsecretvalue")
		require.Contains(t, r.stderr, "-config")
	})
	t.Run("named file missing", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, nil, "config", "--config", filepath.Join(t.TempDir(), "absent.yaml"))
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "absent.yaml")
	})
	t.Run("GA4_OUTBOX_CONFIG names the file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte("poller:\n  batch_size: 77\n"), 0o600))
		r := runCmd(t, map[string]string{"GA4_OUTBOX_CONFIG": path}, "config")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "batch_size: 77")
	})
	t.Run("a metrics address without host:port is caught at load", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte("metrics:\n  addr: \"9464\"\n"), 0o600))
		for _, cmd := range []string{"config", "run"} {
			r := runCmd(t, map[string]string{"GA4_API_SECRET": "s3cr3t", "GA4_MEASUREMENT_ID": "G-ABC12345"}, cmd, "--config", path)
			require.Equal(t, 2, r.code, "%s: %s", cmd, r.stderr)
			require.Contains(t, r.stderr, `config: metrics.addr: "9464": must be host:port`)
		}
	})
	t.Run("a misspelt key names the nearest one", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte("poller:\n  batchsize: 3\n  lease: soon\n"), 0o600))
		r := runCmd(t, nil, "config", "--config", path)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "  config: poller.batchsize: unknown key (line 2); did you mean poller.batch_size?")
		require.Contains(t, r.stderr, `  config: poller.lease: "soon" is not a duration`)
	})
	t.Run("bad keys exit non-zero naming each key", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte("poller:\n  batch_size: 0\n  schedule: sometimes\n"), 0o600))
		r := runCmd(t, nil, "config", "--config", path)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "poller.batch_size")
		require.Contains(t, r.stderr, "poller.schedule")
		require.Equal(t, 1, strings.Count(r.stderr, "invalid configuration"))
	})
}
