package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/entrypoint"
)

// dockerfileRuntime returns the instructions of docker/Dockerfile's last
// stage, by name.
func dockerfileRuntime(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../docker/Dockerfile")
	require.NoError(t, err)
	settings := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if name == "FROM" {
			settings = map[string]string{}
		}
		settings[name] = value
	}
	return settings
}

// The image runs as Dex's image does: uid/gid 1001, data in /var/dex, the
// chart's ports, and `dex serve /etc/dex/config.docker.yaml` by default,
// rendered as a template.
func TestDockerfileLikeDexImage(t *testing.T) {
	rt := dockerfileRuntime(t)
	assert.Equal(t, "1001:1001", rt["USER"])
	assert.Equal(t, `["/var/dex"]`, rt["VOLUME"])
	for _, port := range chartPorts {
		assert.Contains(t, strings.Fields(rt["EXPOSE"]), port)
	}
	var entry, cmdline []string
	require.NoError(t, json.Unmarshal([]byte(rt["ENTRYPOINT"]), &entry))
	require.NoError(t, json.Unmarshal([]byte(rt["CMD"]), &cmdline))
	assert.Equal(t, []string{"/usr/local/bin/dex-spectro"}, entry)

	root := newRootCommand(&bytes.Buffer{}, &bytes.Buffer{})
	cmd, rest, err := root.Find(cmdline)
	require.NoError(t, err)
	assert.Equal(t, "dex-spectro dex serve", cmd.CommandPath())
	require.Equal(t, []string{"/etc/dex/config.docker.yaml"}, rest)
	assert.True(t, entrypoint.IsTemplate(rest[0]))
}

// docker/rootfs.sh lays out the files of Dex's image.
func TestImageRootFS(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		dextest.Unavailable(t, "no sh to run docker/rootfs.sh")
	}
	dexDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dexidp/dex").Output()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "rootfs")
	script := exec.Command("sh", "../../docker/rootfs.sh", os.Args[0], filepath.Join(strings.TrimSpace(string(dexDir)), "web"), out)
	msg, err := script.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", out).Run() })

	link, err := os.Readlink(filepath.Join(out, "usr/local/bin/dex"))
	require.NoError(t, err)
	assert.Equal(t, "dex-spectro", link)
	info, err := os.Stat(filepath.Join(out, "usr/local/bin/dex-spectro"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())

	want, err := os.ReadFile("../../docker/config.docker.yaml")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(out, "etc/dex/config.docker.yaml"))
	require.NoError(t, err)
	assert.Equal(t, want, got)

	for _, f := range []string{"templates/login.html", "static/main.css", "themes/light/styles.css", "robots.txt"} {
		assert.FileExists(t, filepath.Join(out, "srv/dex/web", f))
	}
	passwd, err := os.ReadFile(filepath.Join(out, "etc/passwd"))
	require.NoError(t, err)
	assert.Contains(t, string(passwd), "\ndex:x:1001:1001:")
	group, err := os.ReadFile(filepath.Join(out, "etc/group"))
	require.NoError(t, err)
	assert.Contains(t, string(group), "\ndex:x:1001:")

	info, err = os.Stat(filepath.Join(out, "tmp"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeSticky|os.ModeDir|0o777, info.Mode()&(os.ModeSticky|os.ModeDir|os.ModePerm))
}
