package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// object is one document of a manifest file.
type object struct {
	File       string
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	node yaml.Node
}

// decode decodes the whole document into v.
func (o object) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, o.node.Decode(v), o.File)
}

// Typed views of the objects the tests read.
type (
	workload struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					RestartPolicy   string `yaml:"restartPolicy"`
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []container `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	netPort struct {
		Port     any    `yaml:"port"` // a number or a container port's name
		Protocol string `yaml:"protocol"`
	}
	netPeer struct {
		PodSelector       *labelSelector `yaml:"podSelector"`
		NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
		IPBlock           *struct {
			CIDR   string   `yaml:"cidr"`
			Except []string `yaml:"except"`
		} `yaml:"ipBlock"`
	}
	netRule struct {
		From  []netPeer `yaml:"from"`
		To    []netPeer `yaml:"to"`
		Ports []netPort `yaml:"ports"`
	}
	networkPolicy struct {
		Spec struct {
			PodSelector labelSelector `yaml:"podSelector"`
			PolicyTypes []string      `yaml:"policyTypes"`
			Ingress     []netRule     `yaml:"ingress"`
			Egress      []netRule     `yaml:"egress"`
		} `yaml:"spec"`
	}
)

// manifestKinds is every file of deploy/kubernetes and the kinds it holds:
// a new file is added here, with its checks.
var manifestKinds = map[string][]string{
	"configmap.yaml":      {"ConfigMap"},
	"deployment.yaml":     {"Deployment"},
	"kustomization.yaml":  {"Kustomization"},
	"migrate-job.yaml":    {"Job"},
	"networkpolicy.yaml":  {"NetworkPolicy"},
	"pdb.yaml":            {"PodDisruptionBudget"},
	"podmonitor.yaml":     {"PodMonitor"},
	"secret.example.yaml": {"Secret", "Secret"},
}

// notInKustomization are the files `kubectl apply -k` leaves out, and why.
var notInKustomization = []string{
	"kustomization.yaml",
	"migrate-job.yaml",    // runs before the Deployment; a Job's template is immutable
	"podmonitor.yaml",     // its CRD exists only where Prometheus Operator runs
	"secret.example.yaml", // real Secrets are created out of band
}

func manifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*")
	require.NoError(t, err)
	var objs []object
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var o object
			err := dec.Decode(&o.node)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			o.File = filepath.Base(f)
			o.decode(t, &o)
			objs = append(objs, o)
		}
	}
	return objs
}

func find(t *testing.T, objs []object, kind string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	require.Len(t, found, 1, "one %s", kind)
	return found[0]
}

// selects reports whether a selector's labels all appear in labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	kinds := map[string][]string{}
	for _, o := range manifests(t) {
		kinds[o.File] = append(kinds[o.File], o.Kind)
		if o.Kind == "Kustomization" {
			continue
		}
		require.NotEmpty(t, o.APIVersion, o.File)
		require.NotEmpty(t, o.Metadata.Name, o.File)
		require.NotEmpty(t, o.Metadata.Labels["app.kubernetes.io/name"], "%s %s has the name label", o.File, o.Kind)
	}
	require.Equal(t, manifestKinds, kinds)

	var k struct {
		Resources []string `yaml:"resources"`
	}
	decodeYAML(t, "kubernetes/kustomization.yaml", &k)
	for _, r := range k.Resources {
		require.Contains(t, manifestKinds, r, "kustomization.yaml lists an existing file")
	}
	var left []string
	for f := range maps.Keys(manifestKinds) {
		if !slices.Contains(k.Resources, f) {
			left = append(left, f)
		}
	}
	slices.Sort(left)
	require.Equal(t, notInKustomization, left, "files kubectl apply -k leaves out")

	// Where kubectl is installed, kustomize builds the set (no cluster needed).
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.Command(kubectl, "kustomize", "kubernetes").CombinedOutput()
		require.NoError(t, err, "kubectl kustomize: %s", out)
		built := regexp.MustCompile(`(?m)^kind: (\w+)$`).FindAllStringSubmatch(string(out), -1)
		require.Len(t, built, len(k.Resources), "one object per resource file")
	}
}

// TestKubernetesSelectors: the Deployment's selector, the
// PodDisruptionBudget, the NetworkPolicy and the PodMonitor select the
// Deployment's pods, and none of them the migration Job's.
func TestKubernetesSelectors(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	var dep, job workload
	find(t, objs, "Deployment").decode(t, &dep)
	find(t, objs, "Job").decode(t, &job)
	pod := dep.Spec.Template.Metadata.Labels
	jobPod := job.Spec.Template.Metadata.Labels
	require.True(t, selects(dep.Spec.Selector.MatchLabels, pod), "the Deployment selects its template's labels")
	require.Empty(t, job.Spec.Selector.MatchLabels, "a Job's selector is generated")

	var pdb, pm struct {
		Spec struct {
			Selector labelSelector `yaml:"selector"`
		} `yaml:"spec"`
	}
	var np networkPolicy
	find(t, objs, "PodDisruptionBudget").decode(t, &pdb)
	find(t, objs, "PodMonitor").decode(t, &pm)
	find(t, objs, "NetworkPolicy").decode(t, &np)
	for name, sel := range map[string]map[string]string{
		"PodDisruptionBudget": pdb.Spec.Selector.MatchLabels,
		"PodMonitor":          pm.Spec.Selector.MatchLabels,
		"NetworkPolicy":       np.Spec.PodSelector.MatchLabels,
	} {
		require.True(t, selects(sel, pod), "the %s selects the Deployment's pods", name)
		require.False(t, selects(sel, jobPod), "the %s does not select the migration Job's pod", name)
	}
}

// ga4Containers returns the containers that run the ga4-outbox image, by
// the file they are in.
func ga4Containers(t *testing.T, objs []object) map[string]container {
	t.Helper()
	found := map[string]container{}
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "Job" {
			continue
		}
		var w workload
		o.decode(t, &w)
		require.True(t, w.Spec.Template.Spec.SecurityContext.RunAsNonRoot, o.File)
		for _, c := range w.Spec.Template.Spec.Containers {
			if strings.HasSuffix(strings.Split(c.Image, ":")[0], "/ga4-outbox") {
				found[o.File] = c
			}
		}
		if o.Kind == "Job" {
			require.Equal(t, "Never", w.Spec.Template.Spec.RestartPolicy, "a failed migration is not retried in place")
		}
	}
	require.Len(t, found, 2, "the sidecar and the migration")
	return found
}

// TestKubernetesMatchesDockerfile: the manifests run the image as its
// Dockerfile built it: the entrypoint (no command), a subcommand as args,
// its user, its port, and read-only.
func TestKubernetesMatchesDockerfile(t *testing.T) {
	t.Parallel()
	img := readDockerfile(t)
	cmds := subcommands(t)
	envs := configEnv(t)
	paths := serverPaths(t)
	cs := ga4Containers(t, manifests(t))
	require.Equal(t, cs["deployment.yaml"].Image, cs["migrate-job.yaml"].Image, "the migration runs the sidecar's image and tag")
	require.Equal(t, img.Cmd, cs["deployment.yaml"].Args, "the sidecar runs the image's CMD")
	require.Equal(t, []string{"migrate", "up"}, cs["migrate-job.yaml"].Args)
	for file, c := range cs {
		t.Run(file, func(t *testing.T) {
			require.Regexp(t, `:\d+\.\d+\.\d+$`, c.Image, "a pinned tag")
			require.True(t, c.Command == nil || slices.Equal(c.Command, img.Entrypoint), "command is the image's ENTRYPOINT")
			require.True(t, cmds[c.Args[0]], "%s is a subcommand", c.Args[0])
			require.Equal(t, img.UID, c.SecurityContext.RunAsUser, "USER")
			require.Equal(t, img.GID, c.SecurityContext.RunAsGroup, "USER")
			require.True(t, c.SecurityContext.ReadOnlyRootFilesystem)
			require.False(t, c.SecurityContext.AllowPrivilegeEscalation)
			require.Equal(t, []string{"ALL"}, c.SecurityContext.Capabilities.Drop)
			for _, e := range c.Env {
				require.True(t, envs[e.Name], "%s is a variable internal/config reads", e.Name)
				if strings.Contains(e.Name, "SECRET") || e.Name == "DATABASE_URL" {
					require.NotNil(t, e.ValueFrom, "%s comes from a Secret", e.Name)
				}
			}
			for _, p := range c.Ports {
				require.Contains(t, img.Expose, p.ContainerPort, "the port is one the image exposes")
			}
			for _, pr := range []*probe{c.LivenessProbe, c.ReadinessProbe} {
				if pr != nil {
					require.True(t, paths[pr.HTTPGet.Path], "probe path %s is served", pr.HTTPGet.Path)
					require.Equal(t, "metrics", pr.HTTPGet.Port)
				}
			}
		})
	}
}

// TestKubernetesSecretRefs: every secretKeyRef names a Secret and key of
// secret.example.yaml, whose values are placeholders; the sidecar's pod
// never references the schema owner's Secret.
func TestKubernetesSecretRefs(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	keys := map[string]bool{}
	for _, o := range objs {
		if o.Kind != "Secret" {
			continue
		}
		require.Equal(t, "secret.example.yaml", o.File, "Secrets are created out of band")
		var s struct {
			StringData map[string]string `yaml:"stringData"`
			Data       map[string]string `yaml:"data"`
		}
		o.decode(t, &s)
		require.Empty(t, s.Data)
		for k, v := range s.StringData {
			require.Contains(t, v, "REPLACE_ME", "%s/%s is a placeholder", o.Metadata.Name, k)
			keys[o.Metadata.Name+"/"+k] = true
		}
	}
	for file, c := range ga4Containers(t, objs) {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			require.True(t, keys[ref], "%s: %s is in secret.example.yaml", file, ref)
			if file == "deployment.yaml" {
				require.NotEqual(t, "ga4-outbox-migrate", e.ValueFrom.SecretKeyRef.Name, "the sidecar never sees the owner's URL")
			}
		}
	}
}

// TestKubernetesMonitoring: the PodMonitor scrapes the sidecar's metrics
// port and path, and the NetworkPolicy lets the monitoring namespace in,
// DNS, PostgreSQL and HTTPS out, and nothing else.
func TestKubernetesMonitoring(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	paths := serverPaths(t)
	side := sidecar(t)
	ports := map[string]int{}
	var dep workload
	find(t, objs, "Deployment").decode(t, &dep)
	for _, c := range dep.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
	}

	var pm struct {
		Spec struct {
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"podMetricsEndpoints"`
		} `yaml:"spec"`
	}
	find(t, objs, "PodMonitor").decode(t, &pm)
	require.Len(t, pm.Spec.Endpoints, 1)
	require.Equal(t, side.Ports[0].Name, pm.Spec.Endpoints[0].Port, "the sidecar's metrics port")
	require.Equal(t, "/metrics", pm.Spec.Endpoints[0].Path)
	require.True(t, paths[pm.Spec.Endpoints[0].Path])

	var np networkPolicy
	find(t, objs, "NetworkPolicy").decode(t, &np)
	require.ElementsMatch(t, []string{"Ingress", "Egress"}, np.Spec.PolicyTypes)
	var metricsFrom []netPeer
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			name, ok := p.Port.(string)
			require.True(t, ok, "ingress names its ports")
			require.Contains(t, ports, name, "a container port of the pod")
			if ports[name] == side.Ports[0].ContainerPort {
				metricsFrom = append(metricsFrom, r.From...)
			}
		}
	}
	require.NotEmpty(t, metricsFrom, "the metrics port is open to the monitoring namespace only")
	for _, peer := range metricsFrom {
		require.NotNil(t, peer.NamespaceSelector)
	}

	egress := map[string][]netPeer{}
	for _, r := range np.Spec.Egress {
		require.NotEmpty(t, r.To, "every egress rule names its peers")
		for _, p := range r.Ports {
			egress[p.Protocol+"/"+strconv.Itoa(p.Port.(int))] = r.To
		}
	}
	require.ElementsMatch(t, []string{"UDP/53", "TCP/53", "TCP/5432", "TCP/443"}, slices.Collect(maps.Keys(egress)))
	for _, peer := range egress["TCP/443"] {
		require.NotNil(t, peer.IPBlock, "HTTPS to Google by address block")
		if peer.IPBlock.CIDR == "0.0.0.0/0" {
			require.Contains(t, peer.IPBlock.Except, "169.254.0.0/16", "not the metadata server")
			require.Contains(t, peer.IPBlock.Except, "10.0.0.0/8", "not the cluster's private ranges")
		}
	}
	require.NotNil(t, egress["TCP/5432"][0].PodSelector, "the database")
}
