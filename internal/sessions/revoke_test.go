package sessions

import (
	"bytes"
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/dexidp/dex/api/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeDex is Dex's API as far as sessions uses it: every user has a refresh
// token for each of clients, and revoking failing's fails.
type fakeDex struct {
	api.UnimplementedDexServer
	clients []string
	failing string

	mu      sync.Mutex
	revoked []string // subject/client
}

func (f *fakeDex) ListRefresh(_ context.Context, req *api.ListRefreshReq) (*api.ListRefreshResp, error) {
	resp := &api.ListRefreshResp{}
	for _, c := range f.clients {
		resp.RefreshTokens = append(resp.RefreshTokens, &api.RefreshTokenRef{Id: req.GetUserId() + c, ClientId: c})
	}
	return resp, nil
}

func (f *fakeDex) RevokeRefresh(_ context.Context, req *api.RevokeRefreshReq) (*api.RevokeRefreshResp, error) {
	if req.GetClientId() == f.failing {
		return nil, status.Error(codes.Internal, "storage unavailable")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, req.GetUserId()+"/"+req.GetClientId())
	return &api.RevokeRefreshResp{}, nil
}

// serveFake serves f over plaintext gRPC and returns its address.
func serveFake(t *testing.T, f *fakeDex) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	api.RegisterDexServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// A client whose token cannot be revoked stops neither the user's other
// clients nor the other targets: Revoke revokes them, says so, and returns
// the failures.
func TestRevokeGoesOnAfterAFailure(t *testing.T) {
	f := &fakeDex{clients: []string{"a", "b", "c"}, failing: "b"}
	addr := serveFake(t, f)
	var out bytes.Buffer
	err := Revoke(context.Background(), Options{Who: Who{UserID: "jane"}, Connectors: []string{"one", "two"},
		GRPC: GRPC{Addr: addr, Plaintext: true}, Out: &out})
	require.Error(t, err)
	for _, connector := range []string{"one", "two"} {
		assert.Contains(t, err.Error(), `connector "`+connector+`", user ID "jane": revoke the refresh token of client "b": `)
		assert.Contains(t, out.String(), `connector "`+connector+`", user ID "jane": revoked 2 refresh tokens (clients "a", "c")`)
	}
	assert.Equal(t, codes.Internal, status.Code(err), "the cause stays in the chain")
	assert.Contains(t, out.String(), "Tokens Dex issued before stay valid until they expire")
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{Subject("jane", "one") + "/a", Subject("jane", "one") + "/c", Subject("jane", "two") + "/a", Subject("jane", "two") + "/c"}
	slices.Sort(want)
	slices.Sort(f.revoked)
	assert.Equal(t, want, f.revoked)
}
