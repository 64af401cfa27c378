package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/etcdtest"
)

const (
	// AdminUser is the user of the admin token, a member of system:masters
	// (cluster-admin).
	AdminUser = "kubetest-admin"
	// ServiceAccountIssuer is the issuer of the server's service-account
	// tokens, and the audience they are for, as in a kubeadm cluster.
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

	// readyTimeout bounds how long Start waits for /readyz.
	readyTimeout = 3 * time.Minute
	// stopTimeout bounds how long Stop waits after SIGTERM before killing.
	stopTimeout = 30 * time.Second
	// logTail is how much of kube-apiserver's log a failed test shows.
	logTail = 16 << 10
	// logName is the log's file in Dir.
	logName = "kube-apiserver.log"
)

// APIServer is a kube-apiserver process started by a test.
type APIServer struct {
	// Version is the version it was built from.
	Version Version
	// URL is its secure port, https://127.0.0.1:<port>.
	URL string
	// CA signed its serving certificate.
	CA *dextest.CA
	// AdminToken authenticates AdminUser (--token-auth-file).
	AdminToken string
	// Etcd is the etcd server it stores into.
	Etcd *etcdtest.Server
	// Dir holds its files: certificates, keys, the token file, and its log
	// (kube-apiserver.log).
	Dir string

	proc *process // the current process
}

// process is one run of the kube-apiserver program.
type process struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error         // how it exited, once done is closed
	stopOnce sync.Once
}

// Start builds (Binary) and starts kube-apiserver v, stored in an etcd
// server of its own, and waits until it is ready. It listens on a free port
// of 127.0.0.1 with a certificate from a CA made for it, authenticates
// AdminToken as AdminUser (system:masters) and service-account tokens signed
// by a key pair made for it, and authorizes with RBAC. args are further
// kube-apiserver flags, after those; a flag given twice takes the last
// value. The server stops when the test ends; if the test failed, the end
// of its log is shown.
func Start(t testing.TB, v Version, args ...string) *APIServer {
	t.Helper()
	s, err := TryStart(t, v, args...)
	if err != nil {
		t.Fatal(err) // the cleanup shows its log
	}
	return s
}

// TryStart is Start for a server that may refuse to start: when the
// process exits, or is not ready in time, it returns an error and the
// stopped server, whose Log says why.
func TryStart(t testing.TB, v Version, args ...string) (*APIServer, error) {
	t.Helper()
	bin := Binary(t, v)
	s := &APIServer{
		Version:    v,
		CA:         dextest.NewCA(t, "kube-apiserver test CA"),
		AdminToken: randomHex(t),
		Etcd:       etcdtest.Start(t),
		Dir:        t.TempDir(),
	}
	certPEM, keyPEM := s.CA.Issue(t, "kube-apiserver")
	saKey, saPub := serviceAccountKeys(t)
	files := map[string][]byte{
		"tls.crt":    certPEM,
		"tls.key":    keyPEM,
		"sa.key":     saKey,
		"sa.pub":     saPub,
		"tokens.csv": fmt.Appendf(nil, "%s,%s,%s,\"system:masters\"\n", s.AdminToken, AdminUser, AdminUser),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.Dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{
		"--etcd-servers=" + strings.Join(s.Etcd.Endpoints(), ","),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No Service endpoints for the loopback address (which 1.37 refuses
		// to publish): nothing in the kit reaches kube-apiserver through
		// the kubernetes Service.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + s.Dir,
		"--tls-cert-file=" + filepath.Join(s.Dir, "tls.crt"),
		"--tls-private-key-file=" + filepath.Join(s.Dir, "tls.key"),
		"--token-auth-file=" + filepath.Join(s.Dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + filepath.Join(s.Dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(s.Dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--profiling=false",
	}

	// Cleanups run last first: the log is shown once the server stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kube-apiserver %s log (end):\n%s", v, s.logTail())
		}
	})
	t.Cleanup(s.Stop)

	// The port was free a moment ago; if another process took it since,
	// kube-apiserver exits, and another port is tried.
	err := dextest.StartOnFreeAddr(t, func(addr string) ([]byte, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		s.URL = "https://" + addr
		s.proc, err = startProcess(bin, slices.Concat(flags, []string{"--secure-port=" + port}, args), filepath.Join(s.Dir, logName))
		if err != nil {
			t.Fatalf("start kube-apiserver %s: %v", v, err)
		}
		if err := s.waitReady(t.Context()); err != nil {
			s.Stop()
			return s.Log(), err
		}
		return nil, nil
	})
	if err != nil {
		return s, fmt.Errorf("kube-apiserver %s: %w", v, err)
	}
	return s, nil
}

// startProcess starts bin with args, its output to the file at logPath.
func startProcess(bin string, args []string, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	killWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// readyTimeout passes.
func (s *APIServer) waitReady(ctx context.Context) error {
	client := s.HTTPClient()
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("exited while starting: %v", s.proc.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v (last: %s)", readyTimeout, last)
		}
	}
}

// HTTPClient returns a client that trusts the server's CA and sends no
// credentials of its own.
func (s *APIServer) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.CA.Pool(), MinVersion: tls.VersionTLS12},
		},
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 30 seconds) and waits
// until it has exited. It may be called more than once; the test's end
// calls it too.
func (s *APIServer) Stop() {
	if s.proc != nil {
		s.proc.stop()
	}
}

func (p *process) stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Exited reports whether the process has exited, and how.
func (s *APIServer) Exited() (bool, error) {
	if s.proc == nil {
		return false, nil
	}
	select {
	case <-s.proc.done:
		return true, s.proc.waitErr
	default:
		return false, nil
	}
}

// Log returns what the server has logged so far.
func (s *APIServer) Log() []byte {
	data, err := os.ReadFile(filepath.Join(s.Dir, logName))
	if err != nil {
		return []byte(err.Error())
	}
	return data
}

// logTail returns the last 16 KiB of the server's log, from a line's start.
func (s *APIServer) logTail() []byte {
	data := s.Log()
	if len(data) <= logTail {
		return data
	}
	data = data[len(data)-logTail:]
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[i+1:]
	}
	return data
}

// serviceAccountKeys makes the key pair that signs and verifies
// service-account tokens, PEM-encoded.
func serviceAccountKeys(t testing.TB) (private, public []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("service-account key: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("service-account key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}

// randomHex returns 32 random bytes in hex, for a token.
func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
