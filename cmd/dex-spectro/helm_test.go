package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// The contract of the official Dex Helm chart (github.com/dexidp/helm-charts,
// charts/dex 0.24.0, for Dex 2.44.0), read from its templates:
//
//   - templates/deployment.yaml sets the container's args, never its
//     command, so the image's entrypoint runs them (chartArgs);
//   - templates/secret.yaml writes values.config, as YAML, to the key
//     config.yaml of a secret that deployment.yaml mounts read-only at
//     /etc/dex;
//   - the container ports are http 5556, https 5554 (https.enabled), grpc
//     5557 (grpc.enabled) and telemetry 5558;
//   - the liveness and readiness probes GET /healthz/live and
//     /healthz/ready on the telemetry port; values cannot change them;
//   - values.yaml has the top-level keys of chartValueKeys.
const (
	chartConfigDir  = "/etc/dex"
	chartConfigFile = chartConfigDir + "/config.yaml"
	chartLiveness   = "/healthz/live"
	chartReadiness  = "/healthz/ready"
)

var chartPorts = map[string]string{"http": "5556", "https": "5554", "grpc": "5557", "telemetry": "5558"}

var chartValueKeys = []string{
	"replicaCount", "commonLabels", "image", "imagePullSecrets", "namespaceOverride", "nameOverride",
	"fullnameOverride", "hostAliases", "https", "grpc", "configSecret", "config", "volumes", "volumeMounts",
	"envFrom", "env", "envVars", "serviceAccount", "rbac", "deploymentAnnotations", "deploymentLabels",
	"podAnnotations", "podLabels", "podDisruptionBudget", "priorityClassName", "podSecurityContext",
	"revisionHistoryLimit", "securityContext", "service", "ingress", "serviceMonitor", "resources",
	"autoscaling", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "strategy",
	"networkPolicy",
}

// chartArgs are the container's args as templates/deployment.yaml renders
// them, with addr giving the address of each port (the chart's is
// "0.0.0.0:" + the port).
func chartArgs(https, grpc bool, addr func(port string) string) []string {
	args := []string{"dex", "serve", "--web-http-addr", addr("http")}
	if https {
		args = append(args, "--web-https-addr", addr("https"))
	}
	if grpc {
		args = append(args, "--grpc-addr", addr("grpc"))
	}
	return append(args, "--telemetry-addr", addr("telemetry"), chartConfigFile)
}

func chartAddr(port string) string { return "0.0.0.0:" + chartPorts[port] }

// helmValues is the part of examples/helm/values.yaml the tests read.
type helmValues struct {
	Image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"image"`
	HTTPS struct {
		Enabled bool `json:"enabled"`
	} `json:"https"`
	GRPC struct {
		Enabled bool `json:"enabled"`
	} `json:"grpc"`
	ConfigSecret struct {
		Create *bool `json:"create"`
	} `json:"configSecret"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `json:"name"`
		} `json:"secretRef"`
	} `json:"envFrom"`
	Config map[string]any `json:"config"`
}

// readValues reads a values file of examples/helm into the part the tests
// read, v, and as a whole.
func readValues[V any](t *testing.T, file string) (V, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "helm", file))
	require.NoError(t, err)
	var v V
	require.NoError(t, yaml.Unmarshal(data, &v))
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(data, &raw))
	return v, raw
}

// valuesConnector is the configuration of the values' config's first
// connector, which the tests point at an emulated Palette console.
func valuesConnector(cfg map[string]any) map[string]any {
	return cfg["connectors"].([]any)[0].(map[string]any)["config"].(map[string]any)
}

// chartServer is the binary serving a values file's config as the chart
// runs it.
type chartServer struct {
	// addrs are the addresses of the chart's ports, by name.
	addrs  map[string]string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// startChart writes cfg as the chart writes it and starts the binary with
// the chart's args, loopback addresses for the chart's ports (which may be
// taken on a test machine) and env; it returns once the chart's readiness
// and liveness probes pass. The process is killed when the test ends.
func startChart(t *testing.T, cfg map[string]any, https, grpc bool, env ...string) *chartServer {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))

	s := &chartServer{addrs: map[string]string{}, stderr: &bytes.Buffer{}}
	addr := func(port string) string {
		if s.addrs[port] == "" {
			s.addrs[port] = harness.FreeAddr(t)
		}
		return s.addrs[port]
	}
	args := chartArgs(https, grpc, addr)
	require.Equal(t, chartConfigFile, args[len(args)-1])
	args[len(args)-1] = path
	s.cmd = exec.Command(os.Args[0], args...)
	s.cmd.Env = append(append(os.Environ(), runMainEnv+"=1", "TMPDIR="+t.TempDir()), env...)
	s.cmd.Stderr = s.stderr
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })

	telemetry := "http://" + s.addrs["telemetry"]
	require.Eventually(t, func() bool { return get(t, telemetry+chartReadiness) == http.StatusOK },
		30*time.Second, 20*time.Millisecond, "readiness probe; stderr:\n%s", s.stderr)
	assert.Equal(t, http.StatusOK, get(t, telemetry+chartLiveness), "liveness probe")
	return s
}

// The values use only keys the chart reads, change the image, take secrets
// from envFrom, and leave args, ports and probes to the chart.
func TestHelmValuesFollowTheChart(t *testing.T) {
	v, raw := readValues[helmValues](t, "values.yaml")
	for key := range raw {
		assert.Contains(t, chartValueKeys, key, "the chart has no value %q", key)
	}
	assert.NotEmpty(t, v.Image.Repository)
	assert.NotContains(t, v.Image.Repository, "dexidp/dex", "the image is dex-spectro's")
	assert.NotEmpty(t, v.Image.Tag)
	if v.ConfigSecret.Create != nil {
		assert.True(t, *v.ConfigSecret.Create, "the chart writes config to its secret")
	}
	require.NotEmpty(t, v.EnvFrom)
	for _, e := range v.EnvFrom {
		require.NotNil(t, e.SecretRef, "envFrom takes secrets")
		assert.NotEmpty(t, e.SecretRef.Name)
	}

	connectors, _ := v.Config["connectors"].([]any)
	require.Len(t, connectors, 1)
	conn, _ := connectors[0].(map[string]any)
	assert.Equal(t, "spectrocloud", conn["type"])
	cc, _ := conn["config"].(map[string]any)
	envRef := regexp.MustCompile(`^\$\{?[A-Z_][A-Z0-9_]*\}?$`)
	for _, key := range []string{"clientID", "clientSecret"} {
		assert.Regexp(t, envRef, cc[key], "%s comes from the environment (envFrom)", key)
	}
	clients, _ := v.Config["staticClients"].([]any)
	for _, c := range clients {
		client, _ := c.(map[string]any)
		assert.Nil(t, client["secret"], "a static client's secret comes from the environment (secretEnv)")
	}
}

// The chart's args select `dex serve`, with its flags and the config file
// where the chart mounts it.
func TestHelmChartArgs(t *testing.T) {
	v, _ := readValues[helmValues](t, "values.yaml")
	for _, tt := range []struct{ https, grpc bool }{{false, false}, {true, true}, {v.HTTPS.Enabled, v.GRPC.Enabled}} {
		args := chartArgs(tt.https, tt.grpc, chartAddr)
		root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
		cmd, rest, err := root.Find(args)
		require.NoError(t, err, "args %v", args)
		assert.Equal(t, "dex-spectro dex serve", cmd.CommandPath())
		require.NoError(t, cmd.ParseFlags(rest))
		assert.Equal(t, []string{chartConfigFile}, cmd.Flags().Args())
		flags := map[string]string{"web-http-addr": "http", "telemetry-addr": "telemetry"}
		if tt.https {
			flags["web-https-addr"] = "https"
		}
		if tt.grpc {
			flags["grpc-addr"] = "grpc"
		}
		for flag, port := range flags {
			assert.Equal(t, "0.0.0.0:"+chartPorts[port], cmd.Flags().Lookup(flag).Value.String(), flag)
		}
	}
}

// The values' config, written as the chart writes it and served with the
// chart's args, passes the chart's probes. Two changes are made for a test
// machine, and only these: loopback addresses for the chart's ports (which
// may be taken here), and, as there is no cluster, memory storage and an
// emulated Palette console in place of Kubernetes and Palette.
func TestHelmValuesServe(t *testing.T) {
	v, _ := readValues[helmValues](t, "values.yaml")
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)

	cfg := v.Config
	cfg["storage"] = map[string]any{"type": "memory"}
	conn := valuesConnector(cfg)
	tenant := palette.AddTenant(conn["tenant"].(string))
	conn["consoleURL"] = palette.URL

	const secret = "client-secret-from-envFrom"
	srv := startChart(t, cfg, v.HTTPS.Enabled, v.GRPC.Enabled,
		"SPECTROCLOUD_CLIENT_ID=dex", "SPECTROCLOUD_CLIENT_SECRET="+secret, "BACKSTAGE_CLIENT_SECRET=backstage-secret")

	resp, err := http.Get("http://" + srv.addrs["http"] + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var discovery struct {
		Issuer string `json:"issuer"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&discovery))
	assert.Equal(t, cfg["issuer"], discovery.Issuer)
	assert.Positive(t, tenant.Requests(spectrotest.EndpointDiscovery), "the spectrocloud connector opened against the tenant")

	stopWithSIGTERM(t, srv.cmd, srv.stderr, "the server")
	assert.NotContains(t, srv.stderr.String(), secret)
	assert.False(t, slices.ContainsFunc(strings.Split(srv.stderr.String(), "\n"), func(l string) bool {
		return strings.Contains(l, "level=WARN")
	}), "the example draws no warning; stderr:\n%s", srv.stderr.String())
}
