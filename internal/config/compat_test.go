package config_test

import (
	"log/slog"
	"testing"

	"github.com/dexidp/dex/connector/ldap"
	"github.com/dexidp/dex/connector/oidc"
	"github.com/dexidp/dex/server/signer"
	"github.com/dexidp/dex/storage/ent"
	"github.com/dexidp/dex/storage/etcd"
	"github.com/dexidp/dex/storage/kubernetes"
	"github.com/dexidp/dex/storage/memory"
	"github.com/dexidp/dex/storage/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// head is the part every compatibility case shares.
const head = `
issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
`

// withMemory is head with memory storage.
const withMemory = head + `
storage:
  type: memory
`

// bcryptHash is a bcrypt hash (cost 10) of "s3cret-pass".
const bcryptHash = "$2a$10$Ff5CVUENfEjsqQbSJJQJuONj8Gb5kZB/HnCPAbCkEU80rI9gP8FG."

// Configurations that upstream Dex v2.45.1 accepts load without error and
// without unknown-key warnings.
func TestLoadAcceptsUpstreamConfigs(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *config.Config)
	}{
		{
			name: "memory storage",
			yaml: withMemory + "connectors: [{type: mockCallback, id: mock, name: Mock}]\n",
			check: func(t *testing.T, c *config.Config) {
				assert.IsType(t, &memory.Config{}, c.Storage.Config)
			},
		},
		{
			name: "sqlite3 storage",
			yaml: head + `
storage:
  type: sqlite3
  config:
    file: /var/dex/dex.db
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &sql.SQLite3{}, c.Storage.Config)
				assert.Equal(t, "/var/dex/dex.db", c.Storage.Config.(*sql.SQLite3).File)
			},
		},
		{
			name: "postgres storage, every key",
			yaml: head + `
storage:
  type: postgres
  config:
    host: db.example.com
    port: 5433
    database: dex
    user: dex
    password: pw
    connectionTimeout: 5
    maxOpenConns: 10
    maxIdleConns: 4
    connMaxLifetime: 60
    ssl:
      mode: verify-ca
      caFile: /ca.pem
      keyFile: /client.key
      certFile: /client.pem
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &sql.Postgres{}, c.Storage.Config)
				pg := c.Storage.Config.(*sql.Postgres)
				assert.Equal(t, "db.example.com", pg.Host)
				assert.Equal(t, uint16(5433), pg.Port)
				assert.Equal(t, 10, pg.MaxOpenConns)
				assert.Equal(t, "verify-ca", pg.SSL.Mode)
			},
		},
		{
			name: "postgres storage, ent engine",
			env:  map[string]string{"DEX_ENT_ENABLED": "true"},
			yaml: head + `
storage:
  type: postgres
  config: {host: db, database: dex, user: dex, password: pw, ssl: {mode: disable}}
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &ent.Postgres{}, c.Storage.Config)
				assert.Equal(t, "db", c.Storage.Config.(*ent.Postgres).Host)
			},
		},
		{
			name: "mysql storage",
			yaml: head + `
storage:
  type: mysql
  config:
    host: mysql.example.com
    port: 3306
    database: dex
    user: dex
    password: pw
    ssl:
      mode: "false"
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &sql.MySQL{}, c.Storage.Config)
				assert.Equal(t, "false", c.Storage.Config.(*sql.MySQL).SSL.Mode)
			},
		},
		{
			name: "etcd storage",
			yaml: head + `
storage:
  type: etcd
  config:
    endpoints: [http://etcd-0:2379, http://etcd-1:2379]
    namespace: dex/
    username: dex
    password: pw
    ssl:
      serverName: etcd
      caFile: /ca.pem
      keyFile: /key.pem
      certFile: /cert.pem
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &etcd.Etcd{}, c.Storage.Config)
				assert.Len(t, c.Storage.Config.(*etcd.Etcd).Endpoints, 2)
			},
		},
		{
			name: "kubernetes storage",
			yaml: head + `
storage:
  type: kubernetes
  config:
    inCluster: true
    kubeConfigFile: /etc/kube/config
    crdHandling: check
`,
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &kubernetes.Config{}, c.Storage.Config)
				assert.True(t, c.Storage.Config.(*kubernetes.Config).InCluster)
			},
		},
		{
			name: "static clients with secretEnv and idEnv",
			env:  map[string]string{"APP_SECRET": "from-env", "PUBLIC_ID": "public-app"},
			yaml: withMemory + `
staticClients:
- id: app
  name: App
  secretEnv: APP_SECRET
  redirectURIs: [http://127.0.0.1:5555/callback]
  trustedPeers: [other]
  logoURL: https://example.com/logo.png
- idEnv: PUBLIC_ID
  name: Public
  public: true
`,
			check: func(t *testing.T, c *config.Config) {
				clients := c.ResolvedStaticClients()
				assert.Equal(t, "from-env", clients[0].Secret)
				assert.Equal(t, "public-app", clients[1].ID)
				assert.Equal(t, "APP_SECRET", c.StaticClients[0].SecretEnv, "the file's values are kept")
			},
		},
		{
			name: "static passwords: plain, base64 and from env",
			env:  map[string]string{"ADMIN_HASH": bcryptHash},
			yaml: withMemory + `
enablePasswordDB: true
staticPasswords:
- email: a@example.com
  hash: "` + bcryptHash + `"
  username: a
  name: A
  preferredUsername: a-pub
  emailVerified: false
  userID: "1"
  groups: [g1]
- email: b@example.com
  hash: JDJhJDEwJEZmNUNWVUVOZkVqc3FRYlNKSlFKdU9OajhHYjVrWkIvSG5DUEFiQ2tFVTgwckk5Z1A4Rkcu
  username: b
  userID: "2"
- email: c@example.com
  hashFromEnv: ADMIN_HASH
  username: c
  userID: "3"
`,
			check: func(t *testing.T, c *config.Config) {
				ps := c.ResolvedStaticPasswords()
				require.Len(t, ps, 3)
				for _, p := range ps {
					assert.Equal(t, bcryptHash, string(p.Hash), p.Email)
				}
				require.NotNil(t, ps[0].EmailVerified)
				assert.False(t, *ps[0].EmailVerified)
				assert.Equal(t, []string{"g1"}, ps[0].Groups)
			},
		},
		{
			name: "web https with TLS, CORS, headers and client IP",
			yaml: head + `
storage: {type: memory}
web:
  https: 127.0.0.1:5554
  tlsCert: /tls.crt
  tlsKey: /tls.key
  tlsMinVersion: 1.3
  allowedOrigins: ["*"]
  allowedHeaders: [Authorization]
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: sameorigin
  clientRemoteIP:
    header: X-Forwarded-For
    trustedProxies: [10.0.0.0/8, "::1/128"]
`,
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, "1.3", c.Web.TLSMinVersion, "a YAML number becomes the string Dex expects")
				assert.Equal(t, "max-age=31536000", c.Web.Headers.StrictTransportSecurity)
				p, err := c.TrustedProxies()
				require.NoError(t, err)
				assert.Len(t, p, 2)
			},
		},
		{
			name: "grpc with mutual TLS and reflection",
			yaml: withMemory + `
grpc:
  addr: 127.0.0.1:5557
  tlsCert: /server.crt
  tlsKey: /server.key
  tlsClientCA: /ca.crt
  tlsMinVersion: "1.2"
  tlsMaxVersion: "1.3"
  reflection: true
`,
			check: func(t *testing.T, c *config.Config) {
				assert.True(t, c.GRPC.Reflection)
				assert.Equal(t, "/ca.crt", c.GRPC.TLSClientCA)
			},
		},
		{
			name: "telemetry, expiry, logger, oauth2, frontend",
			yaml: withMemory + `
telemetry:
  http: 127.0.0.1:5558
  enableProfiling: true
expiry:
  signingKeys: 12h
  idTokens: 1h
  authRequests: 10m
  deviceRequests: 5m
  refreshTokens:
    disableRotation: true
    reuseInterval: 3s
    validIfNotUsedFor: 168h
    absoluteLifetime: 720h
logger:
  level: DEBUG
  format: json
oauth2:
  grantTypes: [authorization_code, refresh_token]
  responseTypes: [code, "code id_token"]
  skipApprovalScreen: true
  alwaysShowLoginScreen: true
  passwordConnector: local
frontend:
  dir: /web
  theme: dark
  issuer: Example
  logoURL: https://example.com/logo.png
  extra: {tagline: hello}
`,
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, slog.LevelDebug, c.Logger.Level)
				assert.Equal(t, "720h", c.Expiry.RefreshTokens.AbsoluteLifetime)
				assert.Equal(t, []string{"authorization_code", "refresh_token"}, c.OAuth2.GrantTypes)
				assert.Equal(t, "hello", c.Frontend.Extra["tagline"])
			},
		},
		{
			name: "local signer",
			yaml: withMemory + "signer: {type: local, config: {keysRotationPeriod: 6h}}\n",
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &signer.LocalConfig{}, c.Signer.Config)
			},
		},
		{
			name: "vault signer",
			yaml: withMemory + "signer: {type: vault, config: {addr: https://vault:8200, token: t, keyName: dex}}\n",
			check: func(t *testing.T, c *config.Config) {
				require.IsType(t, &signer.VaultConfig{}, c.Signer.Config)
				assert.Equal(t, "dex", c.Signer.Config.(*signer.VaultConfig).KeyName)
			},
		},
		{
			name: "upstream fixture with every section",
			yaml: readFixture(t, "upstream-full.yaml"),
			env:  map[string]string{"PUBLIC_APP_ID": "public"},
			check: func(t *testing.T, c *config.Config) {
				assert.Len(t, c.StaticConnectors, 2)
				assert.Len(t, c.StaticPasswords, 2)
				assert.Equal(t, "postgres", c.Storage.Type)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, warnings, err := config.Load([]byte(tc.yaml), config.Options{Strict: true})
			require.NoError(t, err)
			assert.Empty(t, warnings)
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

// Every connector type built into Dex loads with a minimal configuration.
func TestLoadAcceptsEveryBuiltInConnector(t *testing.T) {
	connectors := map[string]string{
		"mockCallback":     `{}`,
		"mockPassword":     `{username: admin, password: pw}`,
		"ldap":             `{host: ldap.example.com:636, bindDN: "cn=admin", bindPW: pw, userSearch: {baseDN: "ou=people", filter: "(objectClass=person)", username: uid, idAttr: uid, emailAttr: mail, nameAttr: cn}, groupSearch: {baseDN: "ou=groups", userMatchers: [{userAttr: DN, groupAttr: member}], nameAttr: cn}}`,
		"gitea":            `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", baseURL: "https://gitea.example.com"}`,
		"github":           `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", orgs: [{name: my-org, teams: [ops]}]}`,
		"gitlab":           `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", baseURL: "https://gitlab.com", groups: [g]}`,
		"google":           `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", hostedDomains: [example.com], adminEmail: admin@example.com}`,
		"oidc":             `{issuer: "https://idp.example.com", clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", insecureEnableGroups: true}`,
		"oauth":            `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", tokenURL: "https://idp/token", authorizationURL: "https://idp/auth", userInfoURL: "https://idp/userinfo", claimMapping: {userNameKey: login}}`,
		"saml":             `{ssoURL: "https://idp/sso", ca: /ca.pem, redirectURI: "http://127.0.0.1:5556/dex/callback", usernameAttr: name, emailAttr: email, groupsAttr: groups}`,
		"samlExperimental": `{ssoURL: "https://idp/sso", ca: /ca.pem, redirectURI: "http://127.0.0.1:5556/dex/callback", usernameAttr: name, emailAttr: email}`,
		"authproxy":        `{userHeader: X-Remote-User, groupHeader: X-Remote-Group}`,
		"linkedin":         `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback"}`,
		"microsoft":        `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", tenant: organizations, groups: [g]}`,
		"bitbucket-cloud":  `{clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback", teams: [t]}`,
		"openshift":        `{issuer: "https://api.cluster:6443", clientID: a, clientSecret: b, redirectURI: "http://127.0.0.1:5556/dex/callback"}`,
		"atlassian-crowd":  `{baseURL: "https://crowd.example.com/crowd", clientID: a, clientSecret: b, groups: [g]}`,
		"keystone":         `{domain: default, keystoneHost: "http://keystone:5000", keystoneUsername: admin, keystonePassword: pw}`,
	}
	for typ, cfg := range connectors {
		t.Run(typ, func(t *testing.T) {
			yaml := withMemory + "connectors:\n- type: " + typ + "\n  id: c\n  name: C\n  config: " + cfg + "\n"
			c, warnings, err := config.Load([]byte(yaml), config.Options{Strict: true})
			require.NoError(t, err)
			assert.Empty(t, warnings)
			require.Len(t, c.StaticConnectors, 1)
			assert.NotNil(t, c.StaticConnectors[0].Config)
		})
	}
	t.Run("typed values reach the connector's own config", func(t *testing.T) {
		yaml := withMemory + "connectors:\n- type: ldap\n  id: c\n  name: C\n  config: " + connectors["ldap"] + "\n- type: oidc\n  id: o\n  name: O\n  config: " + connectors["oidc"] + "\n"
		c, _, err := config.Load([]byte(yaml), config.Options{})
		require.NoError(t, err)
		require.IsType(t, &ldap.Config{}, c.StaticConnectors[0].Config)
		assert.Equal(t, "uid", c.StaticConnectors[0].Config.(*ldap.Config).UserSearch.Username)
		require.IsType(t, &oidc.Config{}, c.StaticConnectors[1].Config)
		assert.True(t, c.StaticConnectors[1].Config.(*oidc.Config).InsecureEnableGroups)
	})
}
