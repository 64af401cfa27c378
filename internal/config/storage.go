package config

import (
	"log/slog"
	"strings"

	"github.com/dexidp/dex/pkg/featureflags"
	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/ent"
	"github.com/dexidp/dex/storage/etcd"
	"github.com/dexidp/dex/storage/kubernetes"
	"github.com/dexidp/dex/storage/memory"
	"github.com/dexidp/dex/storage/sql"
)

// Storage is the `storage` section: a backend type and its configuration.
type Storage struct {
	// Type is one of StorageTypes().
	Type string `json:"type"`
	// Config is the backend's configuration, decoded into the backend's own
	// type (for example *sql.SQLite3).
	Config StorageConfig `json:"config"`
	// UnsetEnv are the environment variables that Config names but the
	// environment does not set; their places are empty.
	UnsetEnv []UnsetVar `json:"-"`
}

// StorageConfig is a storage backend configuration that can open a storage.
type StorageConfig interface {
	Open(logger *slog.Logger) (storage.Storage, error)
}

var (
	_ StorageConfig = (*etcd.Etcd)(nil)
	_ StorageConfig = (*kubernetes.Config)(nil)
	_ StorageConfig = (*memory.Config)(nil)
	_ StorageConfig = (*sql.SQLite3)(nil)
	_ StorageConfig = (*sql.Postgres)(nil)
	_ StorageConfig = (*sql.MySQL)(nil)
	_ StorageConfig = (*ent.SQLite3)(nil)
	_ StorageConfig = (*ent.Postgres)(nil)
	_ StorageConfig = (*ent.MySQL)(nil)
)

// StorageTypes lists the storage backend types, as Dex v2.45.1 knows them.
func StorageTypes() []string {
	return []string{"etcd", "kubernetes", "memory", "mysql", "postgres", "sqlite3"}
}

// NewStorageConfig returns an empty configuration for the storage type typ,
// or false when typ is unknown. The SQL backends use Dex's ent-based
// implementation when DEX_ENT_ENABLED=true, as Dex does.
func NewStorageConfig(typ string) (StorageConfig, bool) {
	useEnt := featureflags.EntEnabled.Enabled()
	switch typ {
	case "etcd":
		return new(etcd.Etcd), true
	case "kubernetes":
		return new(kubernetes.Config), true
	case "memory":
		return new(memory.Config), true
	case "sqlite3":
		if useEnt {
			return new(ent.SQLite3), true
		}
		return new(sql.SQLite3), true
	case "postgres":
		if useEnt {
			return new(ent.Postgres), true
		}
		return new(sql.Postgres), true
	case "mysql":
		if useEnt {
			return new(ent.MySQL), true
		}
		return new(sql.MySQL), true
	default:
		return nil, false
	}
}

// UnmarshalJSON decodes the storage section, choosing the type of Config
// from Type and expanding environment variables in it.
func (s *Storage) UnmarshalJSON(b []byte) error {
	typ, cfg, unset, err := decodeTypedBlock(b, "storage", NewStorageConfig, strings.Join(StorageTypes(), ", "))
	if err != nil {
		return err
	}
	*s = Storage{Type: typ, Config: cfg, UnsetEnv: unset}
	return nil
}
