package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// Configurations that cannot run are rejected, each with a message that
// names the problem.
func TestLoadRejectsBadConfigs(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		strict bool
		want   []string
	}{
		{
			name: "unknown storage type",
			yaml: head + "storage: {type: redis}\n",
			want: []string{`unknown storage type "redis"`, "supported: etcd, kubernetes, memory, mysql, postgres, sqlite3"},
		},
		{
			name: "missing issuer",
			yaml: "storage: {type: memory}\nweb: {http: 127.0.0.1:5556}\n",
			want: []string{"no issuer specified in config file"},
		},
		{
			name: "missing storage",
			yaml: head,
			want: []string{"no storage supplied in config file"},
		},
		{
			name: "no listen address",
			yaml: "issuer: http://x/dex\nstorage: {type: memory}\n",
			want: []string{"must supply a HTTP/HTTPS address to listen on"},
		},
		{
			name: "https without key",
			yaml: head + "storage: {type: memory}\nweb: {https: 127.0.0.1:5554, tlsCert: /c.pem}\n",
			want: []string{"no private key specified for HTTPS"},
		},
		{
			name: "https without cert",
			yaml: head + "storage: {type: memory}\nweb: {https: 127.0.0.1:5554, tlsKey: /k.pem}\n",
			want: []string{"no cert specified for HTTPS"},
		},
		{
			name: "unsupported TLS version",
			yaml: withMemory + "grpc: {addr: 127.0.0.1:5557, tlsCert: /c, tlsKey: /k, tlsMinVersion: '1.1'}\n",
			want: []string{"grpc.tlsMinVersion: supported TLS versions are: 1.2, 1.3"},
		},
		{
			name: "TLS min above max",
			yaml: head + "storage: {type: memory}\nweb: {http: 127.0.0.1:5556, tlsMinVersion: 1.3, tlsMaxVersion: 1.2}\n",
			want: []string{"web: tlsMinVersion greater than tlsMaxVersion"},
		},
		{
			name: "grpc cert without key",
			yaml: withMemory + "grpc: {addr: 127.0.0.1:5557, tlsCert: /c}\n",
			want: []string{"must specify both a gRPC TLS cert and key"},
		},
		{
			name: "grpc TLS without address",
			yaml: withMemory + "grpc: {tlsCert: /c, tlsKey: /k}\n",
			want: []string{"no address specified for gRPC"},
		},
		{
			name: "grpc client CA without cert",
			yaml: withMemory + "grpc: {addr: 127.0.0.1:5557, tlsClientCA: /ca}\n",
			want: []string{"cannot specify gRPC TLS client CA without a gRPC TLS cert"},
		},
		{
			name: "static passwords without password db",
			yaml: withMemory + "staticPasswords: [{email: a@example.com, hash: '" + bcryptHash + "', userID: '1'}]\n",
			want: []string{"cannot specify static passwords without enabling password db"},
		},
		{
			name: "malformed password hash",
			yaml: withMemory + "enablePasswordDB: true\nstaticPasswords: [{email: a@example.com, hash: not-a-hash}]\n",
			want: []string{`static password "a@example.com": malformed bcrypt hash`},
		},
		{
			name: "password hash from an unset variable",
			yaml: withMemory + "enablePasswordDB: true\nstaticPasswords: [{email: a@example.com, hashFromEnv: DEX_SPECTRO_TEST_UNSET_HASH}]\n",
			want: []string{`static password "a@example.com": no password hash provided`},
		},
		{
			name: "unknown connector type",
			yaml: withMemory + "connectors: [{type: nope, id: other, name: Other}]\n",
			want: []string{`connector "other": unknown connector type "nope"`, "spectrocloud"},
		},
		{
			name: "connector without id",
			yaml: withMemory + "connectors: [{type: mockCallback, name: Mock}]\n",
			want: []string{"connectors[0]: id, type and name fields are required for a connector"},
		},
		{
			name: "connector config of the wrong shape",
			yaml: withMemory + "connectors: [{type: oidc, id: o, name: O, config: [1, 2]}]\n",
			want: []string{`connector "o": unmarshal config for env expansion`},
		},
		{
			name: "connector config with a wrongly typed value",
			yaml: withMemory + "connectors: [{type: oidc, id: o, name: O, config: {scopes: openid}}]\n",
			want: []string{`connector "o": parse connector config`},
		},
		{
			name: "static client without name",
			yaml: withMemory + "staticClients: [{id: a, secret: s}]\n",
			want: []string{"staticClients[0]: name field is required for a client"},
		},
		{
			name: "confidential static client without secret",
			yaml: withMemory + "staticClients: [{id: a, name: A}]\n",
			want: []string{`staticClients[0]: secret or secretEnv field is required for client "a"`},
		},
		{
			name: "static client with secret and secretEnv",
			yaml: withMemory + "staticClients: [{id: a, name: A, secret: s, secretEnv: S}]\n",
			want: []string{`secret and secretEnv fields are exclusive for client "a"`},
		},
		{
			name: "secretEnv naming a variable that is not set",
			yaml: withMemory + "staticClients: [{id: backstage, name: Backstage, secretEnv: DEX_SPECTRO_TEST_UNSET_SECRET}, {id: cli, name: CLI, public: true, secretEnv: DEX_SPECTRO_TEST_UNSET_SECRET}]\n",
			want: []string{`staticClients[0]: client "backstage" is not public, but its secret is empty: secretEnv names $DEX_SPECTRO_TEST_UNSET_SECRET, which is not set in the environment`},
		},
		{
			name: "idEnv naming a variable that is not set",
			yaml: withMemory + "staticClients: [{idEnv: DEX_SPECTRO_TEST_UNSET_ID, name: Backstage, secret: s}]\n",
			want: []string{`staticClients[0]: client "Backstage" has an empty ID: idEnv names $DEX_SPECTRO_TEST_UNSET_ID, which is not set in the environment`},
		},
		{
			name: "static client with id and idEnv",
			yaml: withMemory + "staticClients: [{id: a, idEnv: A, name: A, public: true}]\n",
			want: []string{`id and idEnv fields are exclusive for client "a"`},
		},
		{
			name: "bad log format",
			yaml: withMemory + "logger: {format: xml}\n",
			want: []string{"log format is not one of the supported values (json, text): xml"},
		},
		{
			name: "bad log level",
			yaml: withMemory + "logger: {level: loud}\n",
			want: []string{"parse config", "loud"},
		},
		{
			name: "bad expiry duration",
			yaml: withMemory + "expiry: {idTokens: 1day}\n",
			want: []string{`expiry.idTokens: invalid duration "1day"`},
		},
		{
			name: "bad refresh token policy",
			yaml: withMemory + "expiry: {refreshTokens: {absoluteLifetime: forever}}\n",
			want: []string{"expiry.refreshTokens:"},
		},
		{
			name: "bad trusted proxy",
			yaml: head + "storage: {type: memory}\nweb: {http: 127.0.0.1:5556, clientRemoteIP: {trustedProxies: [10.0.0.1]}}\n",
			want: []string{`web.clientRemoteIP.trustedProxies: parse CIDR "10.0.0.1"`},
		},
		{
			name: "unsupported response type",
			yaml: withMemory + "oauth2: {responseTypes: [code, magic]}\n",
			want: []string{`oauth2.responseTypes: unsupported response_type "magic"`},
		},
		{
			name: "unknown signer type",
			yaml: withMemory + "signer: {type: hsm}\n",
			want: []string{`unknown signer type "hsm"`},
		},
		{
			name: "local signer without rotation period",
			yaml: withMemory + "signer: {type: local, config: {}}\n",
			want: []string{"signer.config.keysRotationPeriod must be specified"},
		},
		{
			name: "malformed YAML",
			yaml: "issuer: [unclosed\n",
			want: []string{"parse config"},
		},
		{
			name:   "unknown key in strict mode",
			yaml:   withMemory + "oauth2:\n  skipAprovalScreen: true\n",
			strict: true,
			want:   []string{"strict mode", `line 9: unknown key "oauth2.skipAprovalScreen" (did you mean "skipApprovalScreen"?)`},
		},
		{
			name:   "unknown key in a storage config in strict mode",
			yaml:   head + "storage: {type: sqlite3, config: {file: /x.db, journal: wal}}\n",
			strict: true,
			want:   []string{`unknown key "storage.config.journal"`},
		},
		{
			name:   "unknown key in a connector config in strict mode",
			yaml:   withMemory + "connectors: [{type: github, id: gh, name: GitHub, config: {clientID: a, clientSecret: b, organisations: [x]}}]\n",
			strict: true,
			want:   []string{`unknown key "connectors[0].config.organisations"`},
		},
		{
			name: "several problems at once",
			yaml: "storage: {type: memory}\nlogger: {format: xml}\n",
			want: []string{"no issuer specified", "must supply a HTTP/HTTPS address", "log format"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := config.Load([]byte(tc.yaml), config.Options{Strict: tc.strict})
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// Without strict mode, unknown keys are warnings and the file loads.
func TestLoadUnknownKeysAreWarningsUnlessStrict(t *testing.T) {
	yaml := withMemory + "oauth2:\n  skipAprovalScreen: true\n"
	c, warnings, err := config.Load([]byte(yaml), config.Options{})
	require.NoError(t, err)
	require.NotNil(t, c)
	require.Len(t, warnings, 1)
	assert.Equal(t, "oauth2.skipAprovalScreen", warnings[0].Key)

	_, _, err = config.Load([]byte(yaml), config.Options{Strict: true})
	var unknown *config.UnknownKeysError
	require.True(t, errors.As(err, &unknown), "got %v", err)
	assert.Len(t, unknown.Warnings, 1)
}

// A validation error lists every problem, one per line.
func TestValidationErrorListsEveryProblem(t *testing.T) {
	_, _, err := config.Load([]byte("web: {https: ':5554'}\n"), config.Options{})
	var verr *config.ValidationError
	require.True(t, errors.As(err, &verr), "got %v", err)
	assert.Equal(t, []string{
		"no issuer specified in config file",
		"no storage supplied in config file",
		"no cert specified for HTTPS",
		"no private key specified for HTTPS",
	}, verr.Problems)
	assert.Equal(t, len(verr.Problems), strings.Count(verr.Error(), "\n\t-\t"))
}
