package directory

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Bounds of what a sync holds: beyond them it fails rather than grow
// without end.
const (
	MaxUsers       = 200_000
	MaxTeams       = 20_000
	MaxMemberships = 2_000_000
)

// The JSON of the specification's schemas, as far as a sync reads it.
type (
	// listMeta is v1ListMetaData.
	listMeta struct {
		Continue string `json:"continue"`
		Count    int    `json:"count"`
	}
	// apiUser is v1User: metadata (v1ObjectMeta), spec (v1UserSpec),
	// status (v1UserStatus).
	apiUser struct {
		Metadata struct {
			UID               string `json:"uid"`
			DeletionTimestamp string `json:"deletionTimestamp"`
		} `json:"metadata"`
		Spec struct {
			EmailID string `json:"emailId"`
		} `json:"spec"`
		Status struct {
			IsActive *bool `json:"isActive"`
		} `json:"status"`
	}
	// apiUsers is v1Users.
	apiUsers struct {
		Items    []apiUser `json:"items"`
		ListMeta listMeta  `json:"listmeta"`
	}
	// apiTeam is v1Team: metadata (v1ObjectMeta), spec (v1TeamSpec).
	apiTeam struct {
		Metadata struct {
			UID  string `json:"uid"`
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Users []string `json:"users"`
		} `json:"spec"`
	}
	// apiTeams is v1Teams.
	apiTeams struct {
		Items    []apiTeam `json:"items"`
		ListMeta listMeta  `json:"listmeta"`
	}
)

// Sync reads every user and team and returns the snapshot they make, taken
// at the time taken (the caller's clock). prev, the previous snapshot, if
// any, fills in users that the listing missed because users were added or
// removed while it paged (Stats.CarriedOver). ctx bounds the whole sync.
func (c *Client) Sync(ctx context.Context, taken time.Time, prev *Snapshot) (*Snapshot, error) {
	start := time.Now()
	key, err := c.apiKey()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{
		Taken:   taken,
		users:   make(map[string]*User),
		byEmail: make(map[string][]*User),
		teamsOf: make(map[string][]string),
	}
	consistent, err := c.readUsers(ctx, key, s)
	if err != nil {
		return nil, err
	}
	if err := c.readTeams(ctx, key, s); err != nil {
		return nil, err
	}
	if !consistent && prev != nil {
		for uid, u := range prev.users {
			if _, ok := s.users[uid]; !ok && !u.Deleted {
				s.add(*u) // its teams are those the fresh team listing gives
				s.Stats.CarriedOver++
			}
		}
	}
	for _, u := range s.users {
		switch {
		case u.Deleted:
			s.Stats.Deleted++
		case u.Active:
			s.Stats.Active++
		default:
			s.Stats.Disabled++
		}
	}
	s.Stats.Users = len(s.users)
	s.Stats.Duration = time.Since(start)
	return s, nil
}

// readUsers pages through /v1/users. It reports whether the listing was
// consistent: the total count Palette gave did not change while paging and
// equals the users read.
func (c *Client) readUsers(ctx context.Context, key string, s *Snapshot) (bool, error) {
	counts := map[int]bool{}
	err := c.pages(ctx, key, EndpointUsers, "/v1/users", MaxUsers, &s.Stats, func(page any) (listMeta, int, error) {
		p := page.(*apiUsers)
		for _, item := range p.Items {
			u, err := userFrom(item)
			if err != nil {
				return p.ListMeta, 0, err
			}
			if _, dup := s.users[u.UID]; dup {
				continue
			}
			s.add(u)
		}
		counts[p.ListMeta.Count] = true
		return p.ListMeta, len(p.Items), nil
	}, func() any { return &apiUsers{} })
	if err != nil {
		return false, err
	}
	consistent := len(counts) == 1 && (counts[len(s.users)] || counts[0])
	return consistent, nil
}

// readTeams pages through /v1/teams and records each user's teams.
func (c *Client) readTeams(ctx context.Context, key string, s *Snapshot) error {
	seen := map[string]bool{}
	err := c.pages(ctx, key, EndpointTeams, "/v1/teams", MaxTeams, &s.Stats, func(page any) (listMeta, int, error) {
		p := page.(*apiTeams)
		for _, t := range p.Items {
			if t.Metadata.UID == "" || t.Metadata.Name == "" {
				return p.ListMeta, 0, fmt.Errorf("/v1/teams: a team without metadata.uid or metadata.name")
			}
			if seen[t.Metadata.UID] {
				continue
			}
			seen[t.Metadata.UID] = true
			s.Stats.Teams++
			s.Stats.Memberships += len(t.Spec.Users)
			if s.Stats.Memberships > MaxMemberships {
				return p.ListMeta, 0, fmt.Errorf("/v1/teams: more than %d team memberships", MaxMemberships)
			}
			for _, uid := range t.Spec.Users {
				if !slices.Contains(s.teamsOf[uid], t.Metadata.Name) {
					s.teamsOf[uid] = append(s.teamsOf[uid], t.Metadata.Name)
				}
			}
		}
		return p.ListMeta, len(p.Items), nil
	}, func() any { return &apiTeams{} })
	if err != nil {
		return err
	}
	for uid := range s.teamsOf {
		slices.Sort(s.teamsOf[uid])
	}
	return nil
}

// pages requests path page after page, following the continue token, and
// hands each decoded page to handle, which returns the page's listmeta and
// its number of items. It stops after an empty continue token, and fails on
// more than limit items, on a continue token that does not change, and on
// an empty page that asks for more.
func (c *Client) pages(ctx context.Context, key, endpoint, path string, limit int, stats *Stats,
	handle func(page any) (listMeta, int, error), newPage func() any) error {
	token, items := "", 0
	for {
		q := url.Values{"limit": {fmt.Sprint(pageSize)}}
		if token != "" {
			q.Set("continue", token)
		}
		page := newPage()
		attempts, limited, err := c.do(ctx, key, request{endpoint: endpoint, method: http.MethodGet, path: path + "?" + q.Encode()}, page)
		stats.Requests += attempts
		stats.RateLimited += limited
		if err != nil {
			return err
		}
		meta, n, err := handle(page)
		if err != nil {
			return err
		}
		if items += n; items > limit {
			return fmt.Errorf("%s: more than %d items", path, limit)
		}
		next := strings.TrimSpace(meta.Continue)
		switch {
		case next == "":
			return nil
		case next == token:
			return fmt.Errorf("%s: the continue token did not change from one page to the next", path)
		case n == 0:
			return fmt.Errorf("%s: an empty page with a continue token", path)
		}
		token = next
	}
}

// userFrom reads a user: a UID is required; a deletionTimestamp that is
// set (not empty, null or Go's zero time) marks it deleted, whatever its
// value; a missing isActive counts as inactive.
func userFrom(item apiUser) (User, error) {
	if item.Metadata.UID == "" {
		return User{}, fmt.Errorf("/v1/users: a user without metadata.uid")
	}
	u := User{UID: item.Metadata.UID, Email: item.Spec.EmailID, Active: item.Status.IsActive != nil && *item.Status.IsActive}
	if ts := strings.TrimSpace(item.Metadata.DeletionTimestamp); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		u.Deleted = err != nil || !t.IsZero() && t.Year() > 1
	}
	return u, nil
}

func (s *Snapshot) add(u User) {
	p := &u
	s.users[u.UID] = p
	if key := normalizeEmail(u.Email); key != "" {
		s.byEmail[key] = append(s.byEmail[key], p)
	}
}
