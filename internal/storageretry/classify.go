package storageretry

import (
	"errors"
	"strings"

	"github.com/lib/pq"
)

// Conflict reports whether err is a write that lost a race with a
// concurrent one and was rolled back as a whole, so that running it again
// is safe and may succeed:
//
//   - PostgreSQL: serialization_failure (40001) and deadlock_detected
//     (40P01). Dex runs its PostgreSQL transactions SERIALIZABLE, so two
//     refreshes touching one row make one of them fail with 40001.
//   - MySQL: deadlock (1213, SQLSTATE 40001) and lock wait timeout (1205).
//   - SQLite: the database is locked or busy (several processes on one
//     file).
//   - etcd: the compare-and-swap of Dex's update lost ("concurrent
//     conflicting update happened").
//   - Kubernetes custom resources: 409 Conflict, also after Dex's own short
//     retries ("maximum timeout reached while retrying a conflicted
//     request").
//
// Dex's SQL storage wraps driver errors with %v, which drops their type, so
// the driver's message is matched where the type is lost. Errors an updater
// returns (such as "refresh token claimed twice") and storage.ErrNotFound
// never match.
func Conflict(err error) bool {
	if err == nil {
		return false
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "40001" || pqErr.Code == "40P01"
	}
	var status interface{ StatusCode() int }
	if errors.As(err, &status) && status.StatusCode() == 409 {
		return true
	}
	msg := err.Error()
	for _, m := range conflictMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// conflictMessages are the texts by which the drivers and Dex's storages
// report a conflict once the error's type is lost.
var conflictMessages = []string{
	// PostgreSQL (lib/pq's messages for 40001 and 40P01; pgx's SQLSTATE).
	"could not serialize access",
	"deadlock detected",
	"(SQLSTATE 40001)",
	"(SQLSTATE 40P01)",
	// MySQL (go-sql-driver/mysql: "Error 1213 (40001): Deadlock found ...").
	"Error 1213",
	"Error 1205",
	// SQLite (mattn/go-sqlite3: SQLITE_BUSY, SQLITE_LOCKED).
	"database is locked",
	"database table is locked",
	// etcd (Dex's compare-and-swap update).
	"concurrent conflicting update happened",
	// Kubernetes (Dex's retryOnConflict giving up).
	"retrying a conflicted request",
}
