package spectrotest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"time"
)

// APIPermission is a permission an API key's user holds in the tenant, as a
// tenant role such as Tenant Viewer grants it.
type APIPermission string

// Permissions of the user and team API.
const (
	// APIPermissionUsers lets a key read users: GET /v1/users,
	// GET /v1/users/{uid}, POST /v1/users/summary.
	APIPermissionUsers APIPermission = "user.list"
	// APIPermissionTeams lets a key read teams: GET /v1/teams and
	// GET /v1/teams/{uid}.
	APIPermissionTeams APIPermission = "team.list"
)

// directoryState is what Palette's user and team API shows of a tenant
// beyond the users of its sign-in. Guarded by the tenant's lock; its maps
// are created on first use.
type directoryState struct {
	apiKeys     map[string][]APIPermission // by key
	disabled    map[string]bool            // by userKey
	deleted     map[string]time.Time       // deletionTimestamp by userKey
	emptyTeams  []string                   // teams created without members
	listDeleted bool                       // deleted users stay listed, with deletionTimestamp
	distinctUID bool                       // a user's metadata.uid is not the ID token's sub
	created     time.Time                  // creationTimestamp of every user and team
}

// AddAPIKey registers an API key of a user of this tenant, which the user and
// team API accepts in the ApiKey header. The key's user holds perms; with none,
// both APIPermissionUsers and APIPermissionTeams, as a read-only tenant role
// such as Tenant Viewer gives them. A key without a permission an endpoint
// needs is answered 403; an unknown key 401.
func (t *Tenant) AddAPIKey(key string, perms ...APIPermission) {
	if len(perms) == 0 {
		perms = []APIPermission{APIPermissionUsers, APIPermissionTeams}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.directory.apiKeys == nil {
		t.directory.apiKeys = make(map[string][]APIPermission)
	}
	t.directory.apiKeys[key] = slices.Clone(perms)
}

// RemoveAPIKey revokes an API key: it is answered 401 from then on.
func (t *Tenant) RemoveAPIKey(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.directory.apiKeys, key)
}

// apiKeyPermissions returns the permissions of key, and false for a key this
// tenant did not issue.
func (t *Tenant) apiKeyPermissions(key string) ([]APIPermission, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	perms, ok := t.directory.apiKeys[key]
	return perms, ok
}

// DisableUser disables the user with this email (or, for users without
// email, this subject), as an administrator does in Palette's console: the
// user API shows status.isActive false, and the user can no longer sign in.
// ID tokens issued before stay valid until they expire, as Palette's do.
// It reports whether the user exists.
func (t *Tenant) DisableUser(login string) bool {
	return t.setDisabled(login, true)
}

// EnableUser undoes DisableUser.
func (t *Tenant) EnableUser(login string) bool {
	return t.setDisabled(login, false)
}

func (t *Tenant) setDisabled(login string, disabled bool) bool {
	return t.updateUser(login, func(key string) {
		if !disabled {
			delete(t.directory.disabled, key)
			return
		}
		if t.directory.disabled == nil {
			t.directory.disabled = make(map[string]bool)
		}
		t.directory.disabled[key] = true
	})
}

// updateUser calls f, under the tenant's lock, with the key of the user
// with this email (or subject), and reports whether there was one.
func (t *Tenant) updateUser(login string, f func(key string)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.userIndexLocked(login)
	if i >= 0 {
		f(userKey(t.users[i]))
	}
	return i >= 0
}

// DeleteUser deletes the user with this email (or subject): the user can no
// longer sign in and leaves every team; the user API either no longer lists
// the user (the default) or lists it with metadata.deletionTimestamp set
// (SetListDeletedUsers). It reports whether the user existed.
func (t *Tenant) DeleteUser(login string) bool {
	now := t.clock()
	return t.updateUser(login, func(key string) {
		if t.directory.deleted == nil {
			t.directory.deleted = make(map[string]time.Time)
		}
		t.directory.deleted[key] = now.UTC().Truncate(time.Second)
	})
}

// SetListDeletedUsers sets whether the user API still lists deleted users,
// with metadata.deletionTimestamp set and in their teams (true), or leaves
// them out as if they never existed (false, the default). Which of the two
// Palette does is not known.
func (t *Tenant) SetListDeletedUsers(list bool) {
	set(t, &t.directory.listDeleted, list)
}

// SetSubjectIsUID sets whether a user's metadata.uid in the user and team
// API is the sub of the user's ID tokens (true, the default) or another
// value (false). Which of the two Palette does is not known.
func (t *Tenant) SetSubjectIsUID(same bool) {
	set(t, &t.directory.distinctUID, !same)
}

// AddTeam creates a team without members; a team a user's Groups name
// exists without it.
func (t *Tenant) AddTeam(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.directory.emptyTeams, name) {
		t.directory.emptyTeams = append(t.directory.emptyTeams, name)
	}
}

// RemoveTeam deletes a team: it leaves the team API and the groups of every
// ID token issued from then on.
func (t *Tenant) RemoveTeam(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.directory.emptyTeams = slices.DeleteFunc(t.directory.emptyTeams, func(n string) bool { return n == name })
	for i := range t.users {
		if t.users[i].Groups != nil {
			// A new slice: snapshots taken before share the old one.
			t.users[i].Groups = slices.DeleteFunc(slices.Clone(t.users[i].Groups), func(n string) bool { return n == name })
		}
	}
}

// AddToTeam makes the user with this email (or subject) a member of the team,
// creating it if needed. It reports whether the user exists.
func (t *Tenant) AddToTeam(login, team string) bool {
	return t.changeGroups(login, func(groups []string) []string {
		if slices.Contains(groups, team) {
			return groups
		}
		return append(groups, team)
	})
}

// RemoveFromTeam removes the user with this email (or subject) from the team.
// It reports whether the user exists.
func (t *Tenant) RemoveFromTeam(login, team string) bool {
	return t.changeGroups(login, func(groups []string) []string {
		return slices.DeleteFunc(groups, func(n string) bool { return n == team })
	})
}

// changeGroups replaces the teams of the user with this email (or subject)
// by what change makes of a copy of them. It reports whether the user
// exists.
func (t *Tenant) changeGroups(login string, change func([]string) []string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.userIndexLocked(login)
	if i < 0 {
		return false
	}
	t.users[i].Groups = change(slices.Clone(t.users[i].Groups))
	return true
}

// UserUID returns the metadata.uid the user and team API gives the user with
// this email (or subject), and false when there is no such user.
func (t *Tenant) UserUID(login string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.userIndexLocked(login)
	if i < 0 {
		return "", false
	}
	return t.uidLocked(t.users[i]), true
}

// signInBlockedLocked reports whether a user is disabled or deleted, and
// therefore cannot sign in. t.mu must be held.
func (t *Tenant) signInBlockedLocked(u User) bool {
	key := userKey(u)
	_, deleted := t.directory.deleted[key]
	return deleted || t.directory.disabled[key]
}

// uidLocked is the user's metadata.uid. t.mu must be held.
func (t *Tenant) uidLocked(u User) string {
	if !t.directory.distinctUID {
		return u.Sub
	}
	return hashUID("user", t.uid, u.Sub)
}

// hashUID derives a stable 24-hex-digit UID, the form of Palette's UIDs.
func hashUID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// directoryUser is a user as the user API shows it. Its user is a shallow
// copy: the tenant replaces a user's slices and maps, never changes them.
type directoryUser struct {
	user     User
	uid      string
	active   bool
	deletion time.Time // zero unless deleted and listed
}

// directoryTeam is a team as the team API shows it.
type directoryTeam struct {
	uid, name string
	members   []string // user UIDs, in user order
}

// directoryUsers returns the users the API shows now, in insertion order,
// and the creation time of every user and team.
func (t *Tenant) directoryUsers() ([]directoryUser, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.directory.created.IsZero() {
		t.directory.created = time.Now().UTC().Truncate(time.Second)
	}
	users := make([]directoryUser, 0, len(t.users))
	for _, u := range t.users {
		deletion, deleted := t.directory.deleted[userKey(u)]
		if deleted && !t.directory.listDeleted {
			continue
		}
		du := directoryUser{user: u, uid: t.uidLocked(u), active: !t.directory.disabled[userKey(u)]}
		if deleted {
			du.deletion = deletion
		}
		users = append(users, du)
	}
	return users, t.directory.created
}

// directorySnapshot returns the users and the teams the API shows now:
// users in insertion order, teams by name.
func (t *Tenant) directorySnapshot() ([]directoryUser, []directoryTeam, time.Time) {
	users, created := t.directoryUsers()
	t.mu.Lock()
	byTeam := make(map[string][]string)
	for _, name := range t.directory.emptyTeams {
		byTeam[name] = nil
	}
	t.mu.Unlock()
	for _, u := range users {
		for i, g := range u.user.Groups {
			if slices.Index(u.user.Groups, g) == i { // a team listed twice counts once
				byTeam[g] = append(byTeam[g], u.uid)
			}
		}
	}
	teams := make([]directoryTeam, 0, len(byTeam))
	for name, members := range byTeam {
		teams = append(teams, directoryTeam{uid: hashUID("team", t.uid, name), name: name, members: members})
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i].name < teams[j].name })
	return users, teams, created
}
