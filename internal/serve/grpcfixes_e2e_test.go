package serve_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/dexidp/dex/api/v2"

	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines that contain s.
func (b *logBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

const grpcConfig = `
issuer: ISSUER_URL
web:
  http: HTTP_ADDR
grpc:
  addr: 127.0.0.1:0
GRPC_TLS
storage:
  type: memory
connectors:
- type: mockCallback
  id: mock
  name: Mock
`

// A gRPC API that anyone reaching it may use is announced at start-up with
// a WARN line naming the setting and the risk; with client certificates
// required there is none. A CreateConnector without a connector is refused
// and the server keeps serving.
func TestGRPCAPIWithoutClientCA(t *testing.T) {
	t.Setenv("DEX_API_CONNECTORS_CRUD", "true")
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dex := startDex(t, strings.Replace(grpcConfig, "GRPC_TLS", "", 1), "", serve.WithLogger(logger))

	warnings := logs.lines("grpc.tlsClientCA")
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "level=WARN")
	assert.Contains(t, warnings[0], "full administrative access")
	assert.Contains(t, warnings[0], "tls=false")

	conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	client := api.NewDexClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err = client.CreateConnector(ctx, &api.CreateConnectorReq{})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	_, err = client.GetVersion(ctx, &api.VersionReq{})
	require.NoError(t, err, "the server is still up")
}

func TestGRPCAPIWithClientCA(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, 2, "server")
	writeFile(t, filepath.Join(dir, "grpc.crt"), serverCert)
	writeFile(t, filepath.Join(dir, "grpc.key"), serverKey)
	writeFile(t, filepath.Join(dir, "ca.crt"), ca.pem)
	tlsSection := "  tlsCert: " + filepath.Join(dir, "grpc.crt") + "\n  tlsKey: " + filepath.Join(dir, "grpc.key") +
		"\n  tlsClientCA: " + filepath.Join(dir, "ca.crt")

	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dex := startDex(t, strings.Replace(grpcConfig, "GRPC_TLS", tlsSection, 1), "", serve.WithLogger(logger))
	assert.Empty(t, logs.lines("grpc.tlsClientCA"))

	// The API is up, and asks for a client certificate.
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = api.NewDexClient(conn).GetVersion(ctx, &api.VersionReq{})
	require.Error(t, err)
}
