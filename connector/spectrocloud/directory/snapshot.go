package directory

import (
	"errors"
	"strings"
	"time"
)

// User is a Palette user as the directory holds it.
type User struct {
	// UID is metadata.uid.
	UID string
	// Email is spec.emailId as Palette gives it.
	Email string
	// Active is status.isActive; a user without it counts as inactive.
	Active bool
	// Deleted is true when metadata.deletionTimestamp is set.
	Deleted bool
}

// Match says how a token's user was found in the directory.
type Match string

// Ways of matching a token's user, in the order a caller gives them.
const (
	// MatchUID: the user's metadata.uid equals a claim of the token.
	MatchUID Match = "uid"
	// MatchEmail: the user's spec.emailId equals the token's email,
	// compared case-insensitively.
	MatchEmail Match = "email"
)

// ErrAmbiguous is returned by Find when several users carry the email and
// none is told apart by its UID.
var ErrAmbiguous = errors.New("several users in Palette's directory have this email")

// Snapshot is the directory as one sync read it. It is immutable and safe
// for concurrent use; its methods make no I/O.
type Snapshot struct {
	// Taken is when the sync that read it started: the directory is at
	// least as recent as this.
	Taken time.Time
	// Stats says what the sync cost and found.
	Stats Stats

	users   map[string]*User   // by UID
	byEmail map[string][]*User // by lower-case email
	teamsOf map[string][]string
}

// Stats describes a sync.
type Stats struct {
	// Users, Active, Disabled and Deleted count the users held.
	Users, Active, Disabled, Deleted int
	// Teams counts the teams read; Memberships their members.
	Teams, Memberships int
	// Requests counts the requests the sync made, RateLimited those
	// answered 429 (and tried again).
	Requests, RateLimited int
	// Duration is how long the sync took.
	Duration time.Duration
	// CarriedOver counts users the listing missed while users were being
	// added or removed, kept from the previous snapshot.
	CarriedOver int
}

// Find looks a token's user up, trying each way of order in turn: MatchUID
// with uid (a claim's value), MatchEmail with email. It returns the user and
// the way it was found, or false when no way finds it.
func (s *Snapshot) Find(order []Match, uid, email string) (User, Match, bool, error) {
	for _, m := range order {
		switch m {
		case MatchUID:
			if u, ok := s.users[uid]; ok && uid != "" {
				return *u, MatchUID, true, nil
			}
		case MatchEmail:
			u, err := s.byEmailOne(email)
			if err != nil {
				return User{}, MatchEmail, false, err
			}
			if u != nil {
				return *u, MatchEmail, true, nil
			}
		}
	}
	return User{}, "", false, nil
}

// byEmailOne returns the one user with this email: of several, the only one
// not deleted.
func (s *Snapshot) byEmailOne(email string) (*User, error) {
	key := normalizeEmail(email)
	if key == "" {
		return nil, nil
	}
	found := s.byEmail[key]
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	var live []*User
	for _, u := range found {
		if !u.Deleted {
			live = append(live, u)
		}
	}
	if len(live) == 1 {
		return live[0], nil
	}
	return nil, ErrAmbiguous
}

// TeamsOf returns the names of the teams whose spec.users holds uid, sorted.
// The slice is shared: do not modify it.
func (s *Snapshot) TeamsOf(uid string) []string {
	return s.teamsOf[uid]
}

// User returns the user with this UID.
func (s *Snapshot) User(uid string) (User, bool) {
	u, ok := s.users[uid]
	if !ok {
		return User{}, false
	}
	return *u, true
}

func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
