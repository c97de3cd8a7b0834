package main

import (
	"bytes"
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
	head, gitErr := exec.Command("git", "rev-parse", "HEAD").Output()
	head = bytes.TrimSpace(head)
	bin := filepath.Join(t.TempDir(), "ga4-outbox")
	// As the Makefile builds it: the commit from git when Go stamps none.
	out, err := exec.Command(goTool, "build", "-ldflags=-X main.commit="+string(head), "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	t.Run("--version names the commit", func(t *testing.T) {
		out, err := exec.Command(bin, "--version").Output()
		require.NoError(t, err)
		if gitErr != nil || len(head) < 12 {
			t.Skip("not in a git checkout")
		}
		require.Regexp(t, `^ga4-outbox \S+ \(commit [0-9a-f]{12}\b`, string(out))
		require.Contains(t, string(out), "commit "+string(head[:12]))
	})
	t.Run("no arguments: usage, exit 2", func(t *testing.T) {
		out, err := exec.Command(bin).CombinedOutput()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 2, exit.ExitCode())
		require.Contains(t, string(out), "Usage: ga4-outbox <command>")
	})

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
