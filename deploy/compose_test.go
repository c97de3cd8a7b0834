package deploy_test

import (
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

// composeFile is deploy/compose/docker-compose.yml, as far as the test
// reads it.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context string `yaml:"context"`
	} `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Environment map[string]string            `yaml:"environment"`
	Ports       []string                     `yaml:"ports"`
	DependsOn   map[string]map[string]string `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	ReadOnly bool     `yaml:"read_only"`
	CapDrop  []string `yaml:"cap_drop"`
	Volumes  []string `yaml:"volumes"`
}

// composeValue resolves compose's ${VAR:-default} to its default, as an
// unset variable would.
func composeValue(v string) string {
	return regexp.MustCompile(`\$\{\w+:-([^}]*)\}`).ReplaceAllString(v, "$1")
}

// flagAfter returns the value following flag in args.
func flagAfter(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// emulatorFlags returns the flags `ga4-outbox emulator` defines.
func emulatorFlags(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../cmd/ga4-outbox/emulator.go")
	require.NoError(t, err)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`fs\.\w+\((?:&[\w.]+, )?"([a-z0-9-]+)"`).FindAllStringSubmatch(string(raw), -1) {
		flags["--"+m[1]] = true
	}
	require.True(t, flags["--addr"] && flags["--measurement-id"] && flags["--api-secret-env"], "emulator flags: %v", flags)
	return flags
}

// TestCompose: the compose file starts PostgreSQL, migrates once, then runs
// the sidecar against the emulator, with the image as the Dockerfile builds
// it and only environment variables the config loader reads.
func TestCompose(t *testing.T) {
	t.Parallel()
	var cf composeFile
	decodeYAML(t, "compose/docker-compose.yml", &cf)
	require.ElementsMatch(t, []string{"postgres", "migrate", "emulator", "ga4-outbox"}, slices.Collect(maps.Keys(cf.Services)))
	img := readDockerfile(t)
	cmds := subcommands(t)
	envs := configEnv(t)
	pg, migrate, emu, side := cf.Services["postgres"], cf.Services["migrate"], cf.Services["emulator"], cf.Services["ga4-outbox"]

	for name, s := range map[string]composeService{"migrate": migrate, "emulator": emu, "ga4-outbox": side} {
		require.Equal(t, side.Image, s.Image, "%s runs the one ga4-outbox image", name)
		require.NotNil(t, s.Build, name)
		_, err := os.Stat(filepath.Join("compose", s.Build.Context, "Dockerfile"))
		require.NoError(t, err, "%s builds ../../Dockerfile", name)
		require.True(t, cmds[s.Command[0]], "%s: %s is a subcommand (the image's ENTRYPOINT is %s)", name, s.Command[0], img.Binary)
		require.True(t, s.ReadOnly, name)
		require.Equal(t, []string{"ALL"}, s.CapDrop, name)
	}
	for _, s := range cf.Services {
		for _, p := range s.Ports {
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s is published on the host's loopback only", p)
		}
	}

	t.Run("order", func(t *testing.T) {
		require.NotNil(t, pg.Healthcheck, "postgres has a healthcheck for service_healthy")
		require.Equal(t, map[string]map[string]string{"postgres": {"condition": "service_healthy"}}, migrate.DependsOn)
		require.Equal(t, "service_completed_successfully", side.DependsOn["migrate"]["condition"], "the sidecar starts once the schema is there")
		require.Contains(t, side.DependsOn, "emulator")
		require.Equal(t, []string{"migrate", "up"}, migrate.Command)
		require.Equal(t, img.Cmd, side.Command, "the sidecar runs the image's CMD")
	})

	t.Run("environment", func(t *testing.T) {
		for name, s := range map[string]composeService{"migrate": migrate, "ga4-outbox": side} {
			for k := range s.Environment {
				require.True(t, envs[k], "%s: %s is a variable internal/config reads", name, k)
			}
		}
		flags := emulatorFlags(t)
		for _, f := range emu.Command[1:] {
			if strings.HasPrefix(f, "--") {
				require.True(t, flags[f], "emulator flag %s", f)
			}
		}
		require.Equal(t, []string{flagAfter(emu.Command, "--api-secret-env")}, slices.Collect(maps.Keys(emu.Environment)),
			"the emulator reads only the secret variable it is told")
	})

	t.Run("the sidecar reaches the database and the emulator", func(t *testing.T) {
		sample, err := os.ReadFile("../config.yaml")
		require.NoError(t, err, "the config the image bakes in")
		getenv := func(k string) string { return composeValue(side.Environment[k]) }
		cfg, err := config.Parse(sample, getenv)
		require.NoError(t, err)
		require.NoError(t, cfg.RequireSending(), "measurement id and secret are set")

		emuHost, emuPort, err := net.SplitHostPort(flagAfter(emu.Command, "--addr"))
		require.NoError(t, err)
		require.Equal(t, "0.0.0.0", emuHost, "the emulator listens beyond its container's loopback")
		require.Equal(t, "http://emulator:"+emuPort, cfg.GA4.Endpoint)
		require.Equal(t, flagAfter(emu.Command, "--measurement-id"), cfg.GA4.MeasurementID)
		require.Equal(t, composeValue(emu.Environment["GA4_API_SECRET"]), cfg.GA4.APISecret.Reveal(), "the secret the emulator accepts")

		for _, dbURL := range []string{cfg.Database.URL, migrate.Environment["DATABASE_URL"]} {
			u, err := url.Parse(dbURL)
			require.NoError(t, err)
			require.Equal(t, "postgres", u.Hostname(), "the postgres service")
			require.Equal(t, "/"+pg.Environment["POSTGRES_DB"], u.Path)
			require.Equal(t, pg.Environment["POSTGRES_USER"], u.User.Username())
			pw, _ := u.User.Password()
			require.Equal(t, pg.Environment["POSTGRES_PASSWORD"], pw)
		}

		host, port, err := net.SplitHostPort(cfg.Metrics.Addr)
		require.NoError(t, err)
		require.Equal(t, "0.0.0.0", host, "a published port reaches the container's interface, not its loopback")
		require.Contains(t, side.Ports, "127.0.0.1:"+port+":"+port)
		require.Contains(t, img.Expose, mustAtoi(t, port))
		require.Contains(t, side.Volumes, "reports:"+cfgReportDir(t), "reports survive the container")
	})
}

// cfgReportDir is where the image writes the nightly reports.
func cfgReportDir(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	m := regexp.MustCompile(`GA4_OUTBOX_REPORT_DIR=(\S+)`).FindStringSubmatch(string(raw))
	require.NotNil(t, m)
	return m[1]
}
