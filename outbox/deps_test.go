package outbox_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// An application that imports outbox links pgx and the standard library,
// nothing of the sidecar: no Prometheus, cron, testcontainers or internal
// package (docs/ARCHITECTURE.md, "Packages").
func TestImportIsCheap(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/ga4-outbox/ga4-outbox/outbox").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)

	allowed := []string{"github.com/jackc/", "golang.org/x/"} // pgx and what pgx needs
	var deps, foreign []string
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") || pkg == "github.com/ga4-outbox/ga4-outbox/outbox" {
			continue // the standard library (and its vendored packages), or outbox itself
		}
		deps = append(deps, pkg)
		ok := false
		for _, prefix := range allowed {
			ok = ok || strings.HasPrefix(pkg, prefix)
		}
		if !ok {
			foreign = append(foreign, pkg)
		}
	}
	require.Contains(t, deps, "github.com/jackc/pgx/v5")
	require.Empty(t, foreign, "outbox must depend on pgx alone")
}
