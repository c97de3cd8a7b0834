package main

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinary builds the command the way `make build` does and checks the
// artifact itself.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "ga4-outbox")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	// Issue 17: the demo's container fallback is linked only with -tags
	// containers; the default binary carries no testcontainers-go and no
	// Docker client.
	t.Run("links no container runtime", func(t *testing.T) {
		info, err := buildinfo.ReadFile(bin)
		require.NoError(t, err)
		require.NotEmpty(t, info.Deps)
		for _, d := range info.Deps {
			for _, banned := range []string{"testcontainers", "github.com/docker/", "github.com/moby/", "github.com/containerd/"} {
				require.NotContains(t, d.Path, banned, "go version -m lists %s %s: the default binary must not link a container runtime", d.Path, d.Version)
			}
		}
	})
}
