package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// UsersByEmail finds the users whose spec.emailId equals email, ignoring
// case, with one request (a v1UsersSummarySpec filter), without a sync. It
// reads of each v1UserSummary what a sync reads of a v1User.
func (c *Client) UsersByEmail(ctx context.Context, email string) ([]User, error) {
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
		Items []apiUser `json:"items"`
	}
	if _, _, err := c.do(ctx, key, request{endpoint: EndpointUsersSummary, method: http.MethodPost, path: "/v1/users/summary", body: body}, &out); err != nil {
		return nil, err
	}
	found := make([]User, 0, len(out.Items))
	for _, item := range out.Items {
		u, err := userFrom(item)
		if err != nil {
			return nil, err
		}
		if normalizeEmail(u.Email) != normalizeEmail(email) {
			continue // a filter Palette did not apply as asked
		}
		found = append(found, u)
	}
	return found, nil
}
