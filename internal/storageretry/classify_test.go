package storageretry

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dexidp/dex/storage"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
)

type statusErr int

func (e statusErr) Error() string   { return fmt.Sprintf("HTTP %d", int(e)) }
func (e statusErr) StatusCode() int { return int(e) }

func TestConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", storage.ErrNotFound, false},
		{"already exists", storage.ErrAlreadyExists, false},
		{"an updater's own error", errors.New("refresh token claimed twice"), false},
		{"postgres serialization failure, typed", fmt.Errorf("commit: %w", &pq.Error{Code: "40001"}), true},
		{"postgres deadlock, typed", &pq.Error{Code: "40P01"}, true},
		{"postgres unique violation, typed", &pq.Error{Code: "23505", Message: "duplicate key"}, false},
		{"postgres serialization failure, wrapped with %v as Dex's sql storage does",
			fmt.Errorf("update refresh token: %v", errors.New("pq: could not serialize access due to concurrent update")), true},
		{"postgres read/write dependencies", errors.New("pq: could not serialize access due to read/write dependencies among transactions"), true},
		{"postgres deadlock, wrapped", errors.New("update offline session: pq: deadlock detected"), true},
		{"pgx SQLSTATE", errors.New("ERROR: could not serialize (SQLSTATE 40001)"), true},
		{"mysql deadlock", errors.New("update refresh token: Error 1213 (40001): Deadlock found when trying to get lock"), true},
		{"mysql lock wait timeout", errors.New("Error 1205 (HY000): Lock wait timeout exceeded"), true},
		{"sqlite busy", errors.New("update refresh token: database is locked"), true},
		{"etcd compare-and-swap", errors.New(`failed to update key="refresh/abc": concurrent conflicting update happened`), true},
		{"kubernetes 409", fmt.Errorf("put: %w", statusErr(409)), true},
		{"kubernetes 404", statusErr(404), false},
		{"kubernetes retries exhausted", errors.New("maximum timeout reached while retrying a conflicted request: PUT x Conflict"), true},
		{"connection refused", errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Conflict(tc.err))
		})
	}
}
