package spectrotest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxListLimit is the largest page of a list call, and its default: Palette
// documents 50 for both.
const maxListLimit = 50

// maxSummaryBody bounds the filter of POST /v1/users/summary.
const maxSummaryBody = 64 << 10

// apiHandler returns the handler of an endpoint of the user and team API,
// or nil for another endpoint.
func (t *Tenant) apiHandler(ep Endpoint) http.HandlerFunc {
	switch ep {
	case EndpointUsers:
		return t.handleUsers
	case EndpointUser:
		return t.handleUser
	case EndpointUsersSummary:
		return t.handleUsersSummary
	case EndpointTeams:
		return t.handleTeams
	case EndpointTeam:
		return t.handleTeam
	}
	return nil
}

// The JSON shapes of the specification's schemas.
type (
	// apiMeta is v1ObjectMeta.
	apiMeta struct {
		UID                   string     `json:"uid"`
		Name                  string     `json:"name"`
		CreationTimestamp     time.Time  `json:"creationTimestamp"`
		LastModifiedTimestamp time.Time  `json:"lastModifiedTimestamp"`
		DeletionTimestamp     *time.Time `json:"deletionTimestamp,omitempty"`
	}
	// apiListMeta is v1ListMetaData.
	apiListMeta struct {
		Continue string `json:"continue"`
		Count    int    `json:"count"`
		Limit    int    `json:"limit"`
		Offset   int    `json:"offset"`
	}
	// apiUserStatus is v1UserStatus.
	apiUserStatus struct {
		ActivationLink      string `json:"activationLink"`
		IsActive            bool   `json:"isActive"`
		IsPasswordResetting bool   `json:"isPasswordResetting"`
	}
	// apiUser is v1User with v1UserSpec.
	apiUser struct {
		Metadata apiMeta `json:"metadata"`
		Spec     struct {
			EmailID   string   `json:"emailId"`
			FirstName string   `json:"firstName"`
			LastName  string   `json:"lastName"`
			Roles     []string `json:"roles"`
		} `json:"spec"`
		Status apiUserStatus `json:"status"`
	}
	// apiUidSummary is v1UidSummary.
	apiUIDSummary struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	}
	// apiUserSummary is v1UserSummary with v1UserSpecSummary.
	apiUserSummary struct {
		Metadata apiMeta `json:"metadata"`
		Spec     struct {
			EmailID       string          `json:"emailId"`
			FirstName     string          `json:"firstName"`
			LastName      string          `json:"lastName"`
			ProjectsCount int             `json:"projectsCount"`
			Roles         []apiUIDSummary `json:"roles"`
			Teams         []apiUIDSummary `json:"teams"`
		} `json:"spec"`
		Status apiUserStatus `json:"status"`
	}
	// apiTeam is v1Team with v1TeamSpec.
	apiTeam struct {
		Metadata apiMeta `json:"metadata"`
		Spec     struct {
			Roles   []string `json:"roles"`
			Sources []string `json:"sources"`
			Users   []string `json:"users"`
		} `json:"spec"`
		Status struct{} `json:"status"`
	}
	// apiFilterString is v1FilterString.
	apiFilterString struct {
		BeginsWith *string `json:"beginsWith"`
		Contains   *string `json:"contains"`
		Eq         *string `json:"eq"`
		Ne         *string `json:"ne"`
		IgnoreCase *bool   `json:"ignoreCase"`
	}
	// apiUsersSummarySpec is v1UsersSummarySpec with v1UsersFilterSpec.
	apiUsersSummarySpec struct {
		Filter struct {
			EmailID *apiFilterString `json:"emailId"`
			Name    *apiFilterString `json:"name"`
		} `json:"filter"`
	}
)

// permitted answers 403 and returns false unless the request's API key holds
// perm.
func (t *Tenant) permitted(w http.ResponseWriter, r *http.Request, perm APIPermission) bool {
	perms, ok := t.apiKeyPermissions(r.Header.Get("ApiKey"))
	if !ok {
		// The key was revoked after the console picked this tenant.
		writeAPIError(w, http.StatusUnauthorized, "Unauthorized", "the API key is not valid")
		return false
	}
	if !slices.Contains(perms, perm) {
		writeAPIError(w, http.StatusForbidden, "Forbidden", "the user of this API key does not have the permission "+string(perm))
		return false
	}
	return true
}

func (t *Tenant) handleUsers(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) || !t.permitted(w, r, APIPermissionUsers) {
		return
	}
	users, created := t.directoryUsers()
	servePage(w, r, len(users), func(i int) apiUser { return toAPIUser(users[i], created) })
}

func (t *Tenant) handleUser(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) || !t.permitted(w, r, APIPermissionUsers) {
		return
	}
	users, created := t.directoryUsers()
	serveOne(w, r, len(users), func(i int) string { return users[i].uid }, func(i int) any { return toAPIUser(users[i], created) }, "UserNotFound", "user")
}

func (t *Tenant) handleUsersSummary(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) || !t.permitted(w, r, APIPermissionUsers) {
		return
	}
	var spec apiUsersSummarySpec
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSummaryBody+1))
	if err != nil || len(body) > maxSummaryBody || (len(body) > 0 && json.Unmarshal(body, &spec) != nil) {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "the body is not a v1UsersSummarySpec")
		return
	}
	users, teams, created := t.directorySnapshot()
	items := []apiUserSummary{}
	for _, u := range users {
		if !spec.Filter.EmailID.matches(u.user.Email) || !spec.Filter.Name.matches(fullName(u.user)) {
			continue
		}
		full := toAPIUser(u, created)
		var s apiUserSummary
		s.Metadata, s.Status = full.Metadata, full.Status
		s.Spec.EmailID, s.Spec.FirstName, s.Spec.LastName = full.Spec.EmailID, full.Spec.FirstName, full.Spec.LastName
		s.Spec.Roles, s.Spec.Teams = []apiUIDSummary{}, []apiUIDSummary{}
		for _, team := range teams {
			if slices.Contains(team.members, u.uid) {
				s.Spec.Teams = append(s.Spec.Teams, apiUIDSummary{UID: team.uid, Name: team.name})
			}
		}
		items = append(items, s)
	}
	writeJSON(w, http.StatusOK, struct {
		Items []apiUserSummary `json:"items"`
	}{items})
}

func (t *Tenant) handleTeams(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) || !t.permitted(w, r, APIPermissionTeams) {
		return
	}
	_, teams, created := t.directorySnapshot()
	servePage(w, r, len(teams), func(i int) apiTeam { return toAPITeam(teams[i], created) })
}

func (t *Tenant) handleTeam(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) || !t.permitted(w, r, APIPermissionTeams) {
		return
	}
	_, teams, created := t.directorySnapshot()
	serveOne(w, r, len(teams), func(i int) string { return teams[i].uid }, func(i int) any { return toAPITeam(teams[i], created) }, "TeamNotFound", "team")
}

// servePage answers the page of total items that the request's limit,
// offset and continue ask for, with its list metadata (v1Users, v1Teams);
// item converts the i-th item.
func servePage[T any](w http.ResponseWriter, r *http.Request, total int, item func(i int) T) {
	start, end, meta, errMsg := paginate(r.URL.Query(), total)
	if errMsg != "" {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", errMsg)
		return
	}
	items := make([]T, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	writeJSON(w, http.StatusOK, struct {
		Items    []T         `json:"items"`
		ListMeta apiListMeta `json:"listmeta"`
	}{items, meta})
}

// serveOne answers the item of total whose UID is the request's {uid}, or
// 404.
func serveOne(w http.ResponseWriter, r *http.Request, total int, uidOf func(i int) string, item func(i int) any, code, kind string) {
	uid := pathUID(r)
	for i := range total {
		if uidOf(i) == uid {
			writeJSON(w, http.StatusOK, item(i))
			return
		}
	}
	writeAPIError(w, http.StatusNotFound, code, kind+" "+strconv.Quote(uid)+" is not found")
}

func toAPIUser(u directoryUser, created time.Time) apiUser {
	var a apiUser
	a.Metadata = apiMeta{UID: u.uid, Name: fullName(u.user), CreationTimestamp: created, LastModifiedTimestamp: created}
	if !u.deletion.IsZero() {
		d := u.deletion
		a.Metadata.DeletionTimestamp = &d
	}
	a.Spec.EmailID, a.Spec.FirstName, a.Spec.LastName = u.user.Email, u.user.GivenName, u.user.FamilyName
	a.Spec.Roles = []string{}
	a.Status.IsActive = u.active
	return a
}

func toAPITeam(team directoryTeam, created time.Time) apiTeam {
	var a apiTeam
	a.Metadata = apiMeta{UID: team.uid, Name: team.name, CreationTimestamp: created, LastModifiedTimestamp: created}
	a.Spec.Roles, a.Spec.Sources = []string{}, []string{}
	a.Spec.Users = slices.Clone(team.members)
	if a.Spec.Users == nil {
		a.Spec.Users = []string{}
	}
	return a
}

func fullName(u User) string {
	return strings.TrimSpace(u.GivenName + " " + u.FamilyName)
}

// matches reports whether v meets every condition of the filter; a nil
// filter is met by anything. Comparisons ignore case unless ignoreCase is
// false, as the specification's default says.
func (f *apiFilterString) matches(v string) bool {
	if f == nil {
		return true
	}
	norm := func(s string) string {
		if f.IgnoreCase == nil || *f.IgnoreCase {
			return strings.ToLower(s)
		}
		return s
	}
	v = norm(v)
	switch {
	case f.Eq != nil && v != norm(*f.Eq),
		f.Ne != nil && v == norm(*f.Ne),
		f.Contains != nil && !strings.Contains(v, norm(*f.Contains)),
		f.BeginsWith != nil && !strings.HasPrefix(v, norm(*f.BeginsWith)):
		return false
	}
	return true
}

// continueToken is the content of a continue token, in the shape of
// Palette's (base64 of {"offset":50,"count":117,"token":""}).
type continueToken struct {
	Offset int    `json:"offset"`
	Count  int    `json:"count"`
	Token  string `json:"token"`
}

// paginate reads limit, offset and continue, and returns the window
// [start, end) of total items and the list metadata; errMsg is set for a
// request that cannot be served.
func paginate(q url.Values, total int) (start, end int, meta apiListMeta, errMsg string) {
	limit := maxListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, meta, "limit must be an integer"
		}
		if n > 0 && n < maxListLimit {
			limit = n
		}
	}
	switch {
	case q.Get("continue") != "":
		raw, err := base64.RawURLEncoding.DecodeString(q.Get("continue"))
		var tok continueToken
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Offset < 0 {
			return 0, 0, meta, "the continue token is not valid"
		}
		start = tok.Offset
	case q.Get("offset") != "":
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil || n < 0 {
			return 0, 0, meta, "offset must be a non-negative integer"
		}
		start = n
	}
	start = min(start, total)
	end = min(start+limit, total)
	meta = apiListMeta{Count: total, Limit: limit, Offset: end}
	if end < total {
		raw, _ := json.Marshal(continueToken{Offset: end, Count: total})
		meta.Continue = base64.RawURLEncoding.EncodeToString(raw)
	}
	return start, end, meta, ""
}
