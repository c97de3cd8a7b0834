package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster/pgclustertest"
)

// startCluster starts a cluster or skips when the machine has no server
// binaries (a failure with PGTEST_REQUIRE=1, as CI sets).
func startCluster(t *testing.T, opts *pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, opts)
	if errors.Is(err, pgcluster.ErrNoBinaries) && os.Getenv("PGTEST_REQUIRE") != "1" {
		t.Skip(err)
	}
	require.NoError(t, err)
	return c
}

// openTempDir is a temporary folder every user may enter, as /tmp is: when
// the tests run as root, the cluster runs as nobody inside it (t.TempDir's
// folders are private).
func openTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestStartAndStop(t *testing.T) {
	t.Parallel()
	c := startCluster(t, &pgcluster.Options{TempDir: openTempDir(t)})
	t.Cleanup(func() { _ = c.Stop() })

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL)
	require.NoError(t, err)
	var user, version string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_user, current_setting('server_version')`).Scan(&user, &version))
	_, err = conn.Exec(ctx, `CREATE DATABASE scratch`)
	require.NoError(t, err, "the demo and the tests create databases")
	require.NoError(t, conn.Close(ctx))
	require.Equal(t, "postgres", user)
	t.Logf("PostgreSQL %s from %s in %s", version, c.BinDir, c.Dir)

	require.DirExists(t, c.DataDir())
	if runtime.GOOS == "linux" {
		require.NotEmpty(t, pgclustertest.ProcessesMentioning(t, c.Dir), "a postgres process runs with the data directory")
	}

	require.NoError(t, c.Stop())
	require.NoError(t, c.Stop(), "Stop may be called twice")
	require.NoDirExists(t, c.Dir)
	if runtime.GOOS == "linux" {
		require.Empty(t, pgclustertest.ProcessesMentioning(t, c.Dir), "no process is left with the data directory")
	}
	_, err = pgx.Connect(ctx, c.URL)
	require.Error(t, err, "the server no longer answers")
}

func TestSweepRemovesFoldersOfDeadOwners(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("clusters run on Unix only")
	}
	tmp := openTempDir(t)
	stale := filepath.Join(tmp, "ga4-outbox-pg-stale")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale, "owner.pid"), []byte("2147483646"), 0o644))
	live := filepath.Join(tmp, "ga4-outbox-pg-live")
	require.NoError(t, os.MkdirAll(live, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(live, "owner.pid"), []byte("1"), 0o644))
	other := filepath.Join(tmp, "something-else")
	require.NoError(t, os.MkdirAll(other, 0o755))

	c := startCluster(t, &pgcluster.Options{TempDir: tmp})
	require.NoError(t, c.Stop())

	require.NoDirExists(t, stale, "its owner is gone: swept")
	require.DirExists(t, live, "its owner (pid 1) is alive: kept")
	require.DirExists(t, other, "not a cluster folder: never touched")
}

func TestProbeAddr(t *testing.T) {
	t.Parallel()
	require.Equal(t, "127.0.0.1:5432", pgcluster.ProbeAddr(func(string) string { return "" }))
	require.Equal(t, "127.0.0.1:1", pgcluster.ProbeAddr(func(k string) string {
		return map[string]string{pgcluster.EnvProbeAddr: "127.0.0.1:1"}[k]
	}))
	require.False(t, pgcluster.Answers(context.Background(), pgclustertest.ClosedAddr(t)))
	require.Equal(t, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", pgcluster.ProbeURL("127.0.0.1:1"))
}

func TestRootNeedsAFolderNobodyCanEnter(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to user nobody")
	}
	private := t.TempDir() // mode 0700, owned by root
	_, err := pgcluster.Start(context.Background(), &pgcluster.Options{TempDir: private})
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Skip(err)
	}
	require.ErrorContains(t, err, "may not enter this folder")
	left, _ := filepath.Glob(filepath.Join(private, "ga4-outbox-pg-*"))
	require.Empty(t, left, "a failed start leaves no folder behind")
}
