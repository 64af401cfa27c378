package dextest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	// The PostgreSQL driver Dex's postgres storage uses.
	_ "github.com/lib/pq"
)

// PostgresDSNEnv names the variable holding the PostgreSQL server tests use,
// as a URL: postgres://user:password@host:port/database?sslmode=disable. The
// user must be allowed to create databases.
const PostgresDSNEnv = "DEX_SPECTRO_TEST_POSTGRES_DSN"

// Postgres is a database of its own for one test, on the server named by
// PostgresDSNEnv.
type Postgres struct {
	Host, User, Password, Database, SSLMode string
	Port                                    int
}

// NewPostgres creates an empty database for the test and drops it when the
// test ends, so that tests in different packages, which run at the same
// time, never share tables. Without PostgresDSNEnv the test is skipped with a
// message, or fails when CI=true.
func NewPostgres(t testing.TB) Postgres {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		Unavailable(t, "%s is not set; set it to a PostgreSQL URL such as "+
			"postgres://dex:dex@127.0.0.1:5432/dex_test?sslmode=disable to run this test", PostgresDSNEnv)
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", PostgresDSNEnv)
	}
	p := Postgres{Host: u.Hostname(), Port: 5432, User: u.User.Username(), SSLMode: u.Query().Get("sslmode")}
	p.Password, _ = u.User.Password()
	if u.Port() != "" {
		if p.Port, err = strconv.Atoi(u.Port()); err != nil {
			t.Fatalf("port of %s: %v", PostgresDSNEnv, err)
		}
	}
	if p.SSLMode == "" {
		p.SSLMode = "disable"
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresDSNEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	p.Database = "dex_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+p.Database); err != nil {
		db.Close()
		t.Fatalf("create a test database on %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+p.Database+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", p.Database, err)
		}
	})
	return p
}

// Storage is the storage section for the database, for a DexConfig.
func (p Postgres) Storage() map[string]any {
	return map[string]any{"type": "postgres", "config": map[string]any{
		"host": p.Host, "port": p.Port, "database": p.Database,
		"user": p.User, "password": p.Password, "ssl": map[string]any{"mode": p.SSLMode},
	}}
}
