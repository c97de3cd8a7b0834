package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster/pgclustertest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcontainer"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// envChild marks the child test binary TestThrowawayCluster starts.
const envChild = "PGTEST_CHILD"

// TestThrowawayCluster: with TEST_DATABASE_URL unset, nothing on the usual
// address and no Docker, the tests get a throwaway cluster from the local
// binaries, and pgtest.Main removes it when the test binary ends.
func TestThrowawayCluster(t *testing.T) {
	if os.Getenv(envChild) == "1" {
		childUsesServer(t)
		return
	}
	t.Parallel()
	if _, err := pgcluster.FindBinDir(nil); err != nil {
		if os.Getenv(pgtest.EnvRequire) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if pgcontainer.DockerReachable(os.Getenv) {
		t.Skip("Docker is reachable: the container fallback comes first")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestThrowawayCluster$", "-test.v", "-test.count=1")
	cmd.Env = append(withoutVar(os.Environ(), pgtest.EnvURL), envChild+"=1", pgtest.EnvRequire+"=1",
		pgcluster.EnvProbeAddr+"="+pgclustertest.ClosedAddr(t))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "--- PASS: TestThrowawayCluster")
	m := regexp.MustCompile(`server: a throwaway cluster in (\S+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "%s", out)
	require.NoDirExists(t, m[1], "Main removes the cluster's folder")
	if runtime.GOOS == "linux" {
		require.Empty(t, pgclustertest.ProcessesMentioning(t, m[1]), "no postgres process with that data directory remains")
	}
}

// childUsesServer gets a migrated database the usual way and says which
// server it came from.
func childUsesServer(t *testing.T) {
	url := pgtest.URL(t)
	t.Logf("server: %s", pgtest.ServerSource())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var migrated bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT to_regclass('ga4_outbox.events') IS NOT NULL`).Scan(&migrated))
	require.True(t, migrated)
	_, err = pgtest.Tx(t).Exec(ctx, `SELECT 1`)
	require.NoError(t, err)
}

func withoutVar(environ []string, name string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
