package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// BuildBinary builds cmd/dex-spectro into the test's temporary directory
// and returns its path. Only the link step runs when the build cache is
// warm, which still takes seconds: build once per test and share it.
func BuildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dex-spectro")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/dex-spectro/dex-spectro/cmd/dex-spectro")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// Process is dex-spectro running as a child process.
type Process struct {
	Issuer        string
	TelemetryAddr string
	// Logs holds the process's standard error (its logs) and output.
	Logs *dextest.LogBuffer

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // of Wait, valid once exited is closed
}

// StartProcess runs `dex-spectro serve <configFile>` and waits until its
// discovery endpoint answers (at most 30 seconds). issuer and
// telemetryAddr must match the file. The process is killed, if still
// running, when the test ends; on failure its logs are added to the test's
// output.
func StartProcess(t testing.TB, bin, configFile, issuer, telemetryAddr string) *Process {
	t.Helper()
	p, err := tryStartProcess(t, bin, configFile, issuer, telemetryAddr)
	require.NoError(t, err)
	return p
}

// tryStartProcess is StartProcess for a process that may not get ready: it
// returns the process and, when it exited or was not ready in time, why.
func tryStartProcess(t testing.TB, bin, configFile, issuer, telemetryAddr string) (*Process, error) {
	t.Helper()
	p := &Process{Issuer: issuer, TelemetryAddr: telemetryAddr, Logs: &dextest.LogBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", configFile)
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("dex-spectro (pid %d) logs:\n%s", p.cmd.Process.Pid, p.Logs)
		}
		p.Logs.Close()
	})
	return p, p.waitReady(30 * time.Second)
}

func (p *Process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *Process) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(p.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.running() {
			return fmt.Errorf("dex-spectro exited before it was ready: %v", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dex-spectro not ready after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL, waits for the process to die and checks that the
// signal killed it.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
	var exit *exec.ExitError
	require.True(t, errors.As(p.err, &exit), "wait: %v", p.err)
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, status.Signaled() && status.Signal() == syscall.SIGKILL, "the process ended with %v, not by SIGKILL", p.err)
}

// Stop sends SIGTERM and waits, at most 30 seconds, for a clean exit.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		require.NoError(t, p.err, "dex-spectro exits cleanly on SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("dex-spectro did not stop within 30s of SIGTERM")
	}
}

// SQLiteStorage returns a storage section for an sqlite3 file.
func SQLiteStorage(file string) map[string]any {
	return map[string]any{"type": "sqlite3", "config": map[string]any{"file": file}}
}
