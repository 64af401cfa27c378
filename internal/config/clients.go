package config

import (
	"os"

	"github.com/dexidp/dex/storage"
)

// ResolvedStaticClients returns the static clients with `idEnv` and
// `secretEnv` replaced by the values of those environment variables, as Dex
// resolves them when it starts.
func (c *Config) ResolvedStaticClients() []storage.Client {
	clients := make([]storage.Client, len(c.StaticClients))
	for i, client := range c.StaticClients {
		if client.IDEnv != "" {
			client.ID = os.Getenv(client.IDEnv)
		}
		if client.SecretEnv != "" {
			client.Secret = os.Getenv(client.SecretEnv)
		}
		clients[i] = client
	}
	return clients
}

// ResolvedStaticPasswords returns the static passwords as storage records.
func (c *Config) ResolvedStaticPasswords() []storage.Password {
	passwords := make([]storage.Password, len(c.StaticPasswords))
	for i, p := range c.StaticPasswords {
		passwords[i] = storage.Password(p)
	}
	return passwords
}
