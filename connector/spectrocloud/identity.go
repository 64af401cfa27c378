package spectrocloud

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// identityFrom maps a verified token to a Dex identity: claims, then the
// sign-in resolvers, then allowedGroups. Groups are returned only when the
// client asked for them; allowedGroups is enforced either way.
func (c *spectroConnector) identityFrom(ctx context.Context, s connector.Scopes, tok *idToken, raw string) (connector.Identity, error) {
	id, err := c.s.claims.identity(tok.claims)
	if err != nil {
		return connector.Identity{}, err
	}
	if c.resolvers != nil {
		res, err := c.resolvers.Resolve(ctx, resolver.Input{Claims: tok.claims, Email: id.Email})
		if err != nil {
			return connector.Identity{}, fmt.Errorf("spectrocloud: %w", err)
		}
		traceFrom(ctx).resolvedBy(res)
		id.PreferredUsername = res.UserName
		for _, g := range res.Groups {
			if !contains(id.Groups, g) {
				id.Groups = append(id.Groups, g)
			}
		}
	}
	if err := c.s.claims.checkAllowedGroups(id.UserID, id.Groups); err != nil {
		return connector.Identity{}, err
	}
	if !s.Groups {
		id.Groups = nil
	}
	if id.ConnectorData, err = encodeSession(raw); err != nil {
		return connector.Identity{}, err
	}
	return id, nil
}

// sessionVersion is the version of the ConnectorData format.
const sessionVersion = 1

// session is what Dex stores for refresh: the raw Palette ID token and
// nothing else.
type session struct {
	Version int    `json:"v"`
	IDToken string `json:"idToken"`
}

func encodeSession(raw string) ([]byte, error) {
	data, err := json.Marshal(session{Version: sessionVersion, IDToken: raw})
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: encode connector data: %w", err)
	}
	return data, nil
}
