package spectrocloud

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/internal/probe"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// signedIn is identityFrom for a new Palette sign-in (the callback, token
// exchange): Dex stores the token, raw, as the session's connector data for
// Refresh, and the request records when the sign-in ends.
func (c *spectroConnector) signedIn(ctx context.Context, s connector.Scopes, tok *idToken, raw string) (connector.Identity, error) {
	id, err := c.identityFrom(ctx, s, tok)
	if err != nil {
		return connector.Identity{}, err
	}
	if id.ConnectorData, err = encodeSession(raw); err != nil {
		return connector.Identity{}, err
	}
	connhook.RecordSignInEnd(ctx, tok.expiry)
	return id, nil
}

// identityFrom maps a verified token to a Dex identity: claims, then the
// sign-in resolvers, then allowedGroups. Groups are returned only when the
// client asked for them; allowedGroups is enforced either way. The identity
// carries no ConnectorData: a sign-in and a token exchange add the token
// (signedIn), a refresh returns none.
func (c *spectroConnector) identityFrom(ctx context.Context, s connector.Scopes, tok *idToken) (connector.Identity, error) {
	id, err := c.s.claims.identity(tok.claims)
	if err != nil {
		return connector.Identity{}, err
	}
	// The directory decides from memory: nothing to prepare, and its
	// refusals are counted and logged once, by the refresh itself.
	if !preparing(ctx) {
		if err := c.dir.decide(ctx, tok.claims, &id, &c.s.claims); err != nil {
			return connector.Identity{}, err
		}
	}
	paletteGroups := id.Groups
	var catalogGroups []string
	if c.resolvers != nil {
		res, err := c.resolvers.Resolve(ctx, resolver.Input{Claims: tok.claims, Email: id.Email})
		if err != nil {
			return connector.Identity{}, fmt.Errorf("spectrocloud: %w", err)
		}
		if rec := probe.SignInFrom(ctx); rec != nil {
			rec.Resolver, rec.EntityRef = res.Resolver, res.EntityRef
		}
		id.PreferredUsername = res.UserName
		catalogGroups = res.Groups
	}
	if c.s.catalogGroups() {
		// Palette teams and catalog groups share the groups claim: a team
		// named like a catalog group would pass for it downstream.
		paletteGroups = c.withoutCatalogLookalikes(id.UserID, paletteGroups)
		id.Groups = slices.Clone(paletteGroups)
		for _, g := range catalogGroups {
			if !contains(id.Groups, g) {
				id.Groups = append(id.Groups, g)
			}
		}
	}
	if err := c.s.claims.checkAllowedGroups(id.UserID, paletteGroups, catalogGroups); err != nil {
		return connector.Identity{}, err
	}
	if !s.Groups {
		id.Groups = nil
	}
	return id, nil
}

// withoutCatalogLookalikes drops, with a warning, the Palette groups that have
// the form of a catalog group reference.
func (c *spectroConnector) withoutCatalogLookalikes(userID string, groups []string) []string {
	var kept []string
	for _, g := range groups {
		if isCatalogGroupRef(g) {
			c.logger.Warn("dropping a Palette group named like a Backstage catalog group; rename the team or prefix Palette groups with claimModifications", "user_id", userID, "group", g)
			continue
		}
		kept = append(kept, g)
	}
	return kept
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
