package deploy_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

// dockerImage is what the runtime stage of ../Dockerfile promises.
type dockerImage struct {
	Binary     string   // where the binary is copied: COPY --from=build /out/ga4-outbox PATH
	Entrypoint []string // ENTRYPOINT, exec form
	Cmd        []string // CMD, exec form
	UID, GID   int      // USER uid:gid
	Expose     []int    // EXPOSE
}

func readDockerfile(t *testing.T) dockerImage {
	t.Helper()
	raw, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	var img dockerImage
	for line := range strings.Lines(string(raw)) {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch instr {
		case "ENTRYPOINT":
			require.NoError(t, json.Unmarshal([]byte(rest), &img.Entrypoint), "ENTRYPOINT in exec form")
		case "CMD":
			require.NoError(t, json.Unmarshal([]byte(rest), &img.Cmd), "CMD in exec form")
		case "USER":
			uid, gid, ok := strings.Cut(rest, ":")
			require.True(t, ok, "USER uid:gid")
			img.UID, err = strconv.Atoi(uid)
			require.NoError(t, err, "a numeric USER, so runAsNonRoot can check it")
			img.GID, err = strconv.Atoi(gid)
			require.NoError(t, err)
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(p)
				require.NoError(t, err, "EXPOSE %s", p)
				img.Expose = append(img.Expose, n)
			}
		case "COPY":
			if f := strings.Fields(rest); len(f) == 3 && f[0] == "--from=build" && filepath.Base(f[1]) == "ga4-outbox" {
				img.Binary = f[2]
			}
		}
	}
	require.NotEmpty(t, img.Binary, "the Dockerfile copies the binary into the runtime stage")
	require.Equal(t, []string{img.Binary}, img.Entrypoint, "ENTRYPOINT is the binary")
	require.NotEmpty(t, img.Cmd)
	require.NotZero(t, img.UID, "the image runs as non-root")
	return img
}

// subcommands returns the binary's subcommands, from cmd/ga4-outbox/main.go.
func subcommands(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../cmd/ga4-outbox/main.go")
	require.NoError(t, err)
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*\{"([a-z]+)", "`).FindAllStringSubmatch(string(raw), -1) {
		names[m[1]] = true
	}
	require.True(t, names["run"] && names["migrate"] && names["emulator"], "subcommands found: %v", names)
	return names
}

// serverPaths returns the paths the metrics server serves, from
// cmd/ga4-outbox/server.go.
func serverPaths(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../cmd/ga4-outbox/server.go")
	require.NoError(t, err)
	paths := map[string]bool{}
	for _, m := range regexp.MustCompile(`mux\.Handle(?:Func)?\("GET (/[a-z]*)"`).FindAllStringSubmatch(string(raw), -1) {
		paths[m[1]] = true
	}
	require.Len(t, paths, 3, "/metrics, /healthz, /readyz: %v", paths)
	return paths
}

// configEnv returns the environment variables the config loader reads,
// from internal/config.
func configEnv(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../internal/config/*.go")
	require.NoError(t, err)
	names := map[string]bool{}
	read := regexp.MustCompile(`(?:getenv\(|set\(&[\w.]+, |EnvConfigPath = )"([A-Z][A-Z0-9_]*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range read.FindAllStringSubmatch(string(raw), -1) {
			names[m[1]] = true
		}
	}
	for _, k := range []string{"DATABASE_URL", "GA4_MEASUREMENT_ID", "GA4_API_SECRET", "GA4_ENDPOINT", "GA4_OUTBOX_CONFIG", "GA4_OUTBOX_METRICS_ADDR"} {
		require.True(t, names[k], "%s among the variables internal/config reads: %v", k, names)
	}
	return names
}

func TestDockerfileRuntime(t *testing.T) {
	t.Parallel()
	img := readDockerfile(t)
	require.Equal(t, "/ga4-outbox", img.Binary)
	require.Equal(t, []string{"run"}, img.Cmd)
	_, port, err := net.SplitHostPort(config.Default().Metrics.Addr)
	require.NoError(t, err)
	require.Equal(t, []int{9464}, img.Expose, "the metrics port")
	require.Equal(t, strconv.Itoa(img.Expose[0]), port, "EXPOSE is the metrics server's default port")
	require.True(t, subcommands(t)[img.Cmd[0]])
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
