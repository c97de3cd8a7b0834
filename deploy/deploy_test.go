package deploy_test

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

// The Kubernetes objects, only as far as the tests read them.
type (
	configMap struct {
		Kind string            `yaml:"kind"`
		Data map[string]string `yaml:"data"`
	}
	deployment struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []container `yaml:"containers"`
					Volumes    []struct {
						Name      string `yaml:"name"`
						ConfigMap *struct {
							Name string `yaml:"name"`
						} `yaml:"configMap"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	container struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe   *probe `yaml:"livenessProbe"`
		ReadinessProbe  *probe `yaml:"readinessProbe"`
		SecurityContext struct {
			RunAsUser                int  `yaml:"runAsUser"`
			RunAsGroup               int  `yaml:"runAsGroup"`
			AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
)

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(false)
	require.NoError(t, dec.Decode(v), path)
}

func sidecar(t *testing.T) container {
	t.Helper()
	var d deployment
	decodeYAML(t, "kubernetes/deployment.yaml", &d)
	require.Equal(t, "Deployment", d.Kind)
	require.True(t, d.Spec.Template.Spec.SecurityContext.RunAsNonRoot)
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
		if c.Name == "ga4-outbox" {
			require.Len(t, d.Spec.Template.Spec.Containers, 2, "the sidecar runs next to the app container")
			return c
		}
	}
	t.Fatalf("no ga4-outbox container among %v", names)
	return container{}
}

func env(c container, name string) (value, secret string) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return "", e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
			return e.Value, ""
		}
	}
	return "", ""
}

func TestKubernetesConfigMapIsAValidConfig(t *testing.T) {
	t.Parallel()
	var cm configMap
	decodeYAML(t, "kubernetes/configmap.yaml", &cm)
	require.Equal(t, "ConfigMap", cm.Kind)
	getenv := map[string]string{"GA4_API_SECRET": "s3cr3t", "DATABASE_URL": "postgres://ga4_outbox@db/shop"}
	cfg, err := config.Parse([]byte(cm.Data["config.yaml"]), func(k string) string { return getenv[k] })
	require.NoError(t, err, "the ConfigMap's config.yaml loads")
	require.NoError(t, cfg.RequireSending())
	require.Equal(t, "0.0.0.0:9464", cfg.Metrics.Addr)
	require.NotContains(t, cm.Data["config.yaml"], "s3cr3t")
}

func TestKubernetesSidecar(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	require.Equal(t, []string{"run"}, c.Args)

	_, secret := env(c, "GA4_API_SECRET")
	require.Equal(t, "ga4-outbox/api-secret", secret, "the API secret comes from a Secret")
	_, secret = env(c, "DATABASE_URL")
	require.Equal(t, "ga4-outbox/database-url", secret, "the database password comes from a Secret")

	addr, _ := env(c, "GA4_OUTBOX_METRICS_ADDR")
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, "GA4_OUTBOX_METRICS_ADDR")
	require.Equal(t, "0.0.0.0", host, "probes reach the pod IP, not loopback")
	require.Len(t, c.Ports, 1)
	require.Equal(t, "metrics", c.Ports[0].Name)
	require.Equal(t, port, strconv.Itoa(c.Ports[0].ContainerPort), "the probed port is the one the server binds")
	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.ReadinessProbe)
	require.Equal(t, probe{}.with("/healthz", "metrics"), *c.LivenessProbe)
	require.Equal(t, probe{}.with("/readyz", "metrics"), *c.ReadinessProbe)

	cfgPath, _ := env(c, "GA4_OUTBOX_CONFIG")
	var mounted bool
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.MountPath == filepath.Dir(cfgPath)
	}
	require.True(t, mounted, "GA4_OUTBOX_CONFIG %s lies in a mounted volume", cfgPath)

	require.Equal(t, 65532, c.SecurityContext.RunAsUser)
	require.False(t, c.SecurityContext.AllowPrivilegeEscalation)
	require.True(t, c.SecurityContext.ReadOnlyRootFilesystem)
}

func (probe) with(path, port string) probe {
	var p probe
	p.HTTPGet.Path, p.HTTPGet.Port = path, port
	return p
}

// unit reads a systemd unit into key -> values.
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "unit line %q", line)
		keys[k] = append(keys[k], v)
	}
	require.NoError(t, sc.Err())
	return keys
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	u := unit(t, "systemd/ga4-outbox.service")
	for k, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"Restart": "on-failure", "KillSignal": "SIGTERM", "TimeoutStopSec": "30s",
		"EnvironmentFile": "/etc/ga4-outbox/secrets.env", "CapabilityBoundingSet": "",
	} {
		require.Equal(t, []string{want}, u[k], k)
	}
	require.Contains(t, u["Environment"], "GA4_OUTBOX_CONFIG=/etc/ga4-outbox/config.yaml")
	require.Regexp(t, `ga4-outbox run$`, u["ExecStart"][0])
	for _, e := range u["Environment"] {
		require.NotRegexp(t, `SECRET|PASSWORD|DATABASE_URL`, e, "secrets belong in the EnvironmentFile")
	}

	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		raw, err := os.ReadFile("systemd/ga4-outbox.service")
		require.NoError(t, err)
		bin, err := exec.LookPath("true")
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "ga4-outbox.service")
		require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(raw, []byte("/usr/local/bin/ga4-outbox"), []byte(bin)), 0o644))
		out, err := exec.Command(sa, "verify", path).CombinedOutput()
		require.NoError(t, err, "systemd-analyze verify: %s", out)
		require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify has remarks")
	}
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	df := string(raw)
	gomod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	require.NotNil(t, goVersion)

	require.Contains(t, df, "FROM golang:"+goVersion[1]+" AS build", "the builder matches go.mod")
	require.Contains(t, df, "CGO_ENABLED=0")
	require.Regexp(t, `(?m)^FROM gcr\.io/distroless/static`, df)
	require.Regexp(t, `(?m)^USER 65532:65532$`, df, "non-root")
	require.Regexp(t, `(?m)GA4_OUTBOX_CONFIG=/etc/ga4-outbox/config\.yaml`, df)
	require.Regexp(t, `(?m)^ENTRYPOINT \["/ga4-outbox"\]$`, df)
	require.Regexp(t, `(?m)^CMD \["run"\]$`, df)
	require.Regexp(t, `(?m)^COPY config\.yaml /etc/ga4-outbox/config\.yaml$`, df)
	_, err = os.Stat("../config.yaml")
	require.NoError(t, err, "the sample config the image copies")

	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, p := range []string{".git", "bin/", "testdata/artifacts/", ".env*"} {
		require.Contains(t, strings.Fields(string(ignore)), p, ".dockerignore")
	}
}
