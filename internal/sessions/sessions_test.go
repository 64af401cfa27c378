package sessions

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// A command line that cannot name a user, or reach the API as asked, is a
// usage error (exit status 2) that says what to give.
func TestUsageErrors(t *testing.T) {
	spectro := &config.Config{StaticConnectors: []config.Connector{{Type: "spectrocloud", ID: "palette"}}}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"nobody", Options{}, "name the user with exactly one of --email, --user-id and --subject"},
		{"two ways", Options{Who: Who{Email: "a@b", UserID: "u"}}, "exactly one of"},
		{"subject with a connector", Options{Who: Who{Subject: "s"}, Connectors: []string{"x"}}, "--connector is not used with --subject"},
		{"user ID without connectors", Options{Who: Who{UserID: "u"}}, "without a configuration file, name the connector with --connector"},
		{"user ID, no spectrocloud connector", Options{Who: Who{UserID: "u"}, Config: &config.Config{}}, "the configuration has no spectrocloud connector"},
		{"email without a file", Options{Who: Who{Email: "a@b"}, Connectors: []string{"palette"}}, "--email needs the configuration file"},
		{"email, unknown connector", Options{Who: Who{Email: "a@b"}, Connectors: []string{"nope"}, Config: spectro}, `no connector with ID "nope" in the configuration`},
		{"no address", Options{Who: Who{Subject: "s"}}, "give the gRPC API's address with --grpc-addr"},
		{"plaintext and certificates", Options{Who: Who{Subject: "s"}, GRPC: GRPC{Addr: "x:1", Plaintext: true, CACert: "ca"}}, "--plaintext cannot be used with"},
		{"half a client certificate", Options{Who: Who{Subject: "s"}, GRPC: GRPC{Addr: "x:1", ClientCert: "c"}}, "give both --client-cert and --client-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Out = &bytes.Buffer{}
			err := List(context.Background(), tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var usage *UsageError
			require.ErrorAs(t, err, &usage)
			assert.Equal(t, 2, usage.ExitCode())
		})
	}
}

func TestDefaultAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"":              "",
		"0.0.0.0:5557":  "127.0.0.1:5557",
		":5557":         "127.0.0.1:5557",
		"[::]:5557":     "127.0.0.1:5557",
		"10.1.2.3:5557": "10.1.2.3:5557",
		"dex:5557":      "dex:5557",
	} {
		cfg := &config.Config{}
		cfg.GRPC.Addr = addr
		assert.Equal(t, want, DefaultAddr(cfg), addr)
	}
	assert.Empty(t, DefaultAddr(nil))
}

// Subject is the base64url protobuf of the user ID (field 1) and the
// connector ID (field 2); internal/serve's end-to-end test checks it
// against the sub of a real Dex ID token.
func TestSubject(t *testing.T) {
	assert.Equal(t, "CgRqYW5lEgdwYWxldHRl", Subject("jane", "palette"))
}
