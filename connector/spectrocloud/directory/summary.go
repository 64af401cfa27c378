package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// Summary is a user as POST /v1/users/summary gives it (v1UserSummary):
// the user, and the names of its teams (spec.teams).
type Summary struct {
	User
	Teams []string
}

// apiUserSummary is v1UserSummary, as far as UsersByEmail reads it.
type apiUserSummary struct {
	apiUser
	Spec struct {
		EmailID string `json:"emailId"`
		Teams   []struct {
			Name string `json:"name"`
		} `json:"teams"`
	} `json:"spec"`
}

// UsersByEmail finds the users whose spec.emailId equals email, ignoring
// case, with one request (a v1UsersSummarySpec filter), without a sync.
func (c *Client) UsersByEmail(ctx context.Context, email string) ([]Summary, error) {
	key, err := c.apiKey()
	if err != nil {
		return nil, err
	}
	type filterString struct {
		Eq         string `json:"eq"`
		IgnoreCase bool   `json:"ignoreCase"`
	}
	var spec struct {
		Filter struct {
			EmailID filterString `json:"emailId"`
		} `json:"filter"`
	}
	spec.Filter.EmailID = filterString{Eq: email, IgnoreCase: true}
	body, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("directory: encode the filter: %w", err)
	}
	var out struct {
		Items []apiUserSummary `json:"items"`
	}
	if _, _, err := c.do(ctx, key, request{endpoint: EndpointUsersSummary, method: http.MethodPost, path: "/v1/users/summary", body: body}, &out); err != nil {
		return nil, err
	}
	found := make([]Summary, 0, len(out.Items))
	for _, item := range out.Items {
		item.apiUser.Spec.EmailID = item.Spec.EmailID
		u, err := userFrom(item.apiUser)
		if err != nil {
			return nil, err
		}
		if normalizeEmail(u.Email) != normalizeEmail(email) {
			continue // a filter Palette did not apply as asked
		}
		s := Summary{User: u}
		for _, t := range item.Spec.Teams {
			s.Teams = append(s.Teams, t.Name)
		}
		slices.Sort(s.Teams)
		found = append(found, s)
	}
	return found, nil
}
