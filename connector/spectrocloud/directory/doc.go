// Package directory reads a Palette tenant's users and teams through
// Palette's REST API (Palette APIs 4.8), for decisions that the ID token
// alone cannot make: whether a user is still active, and which teams the
// user is in now.
//
// A Client authenticates with an API key (the ApiKey header; the key's user
// needs a read-only tenant role such as Tenant Viewer) and lists every user
// (GET /v1/users: metadata.uid, spec.emailId, status.isActive,
// metadata.deletionTimestamp) and every team (GET /v1/teams: metadata.name,
// spec.users as user UIDs) through the paged endpoints (at most 50 items a
// page, followed by the listmeta's continue token). It paces its requests
// below Palette's documented rate limit of ten requests per second per
// source address, honours 429 answers and their Retry-After, and bounds
// the size and time of every answer.
//
// A sync yields a Snapshot, an immutable in-memory copy that answers
// lookups without any I/O. A Runner syncs in the background at an interval
// and keeps the last good Snapshot, so that callers which must not wait for
// the network (such as a refresh inside a storage transaction) read it from
// memory.
package directory
