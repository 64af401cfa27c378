package spectrocloud

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dexidp/dex/connector"
)

// claimRules turn verified ID-token claims into a Dex identity.
type claimRules struct {
	userIDKey                 string
	userNameKey               string // "" = name, given_name + family_name, email, sub
	preferredUsernameKey      string
	emailKey                  string
	groupsKey                 string
	standardClaimsFirst       bool // overrideClaimMapping: false
	readGroups                bool // insecureEnableGroups not false
	groupsFilter              *regexp.Regexp
	groupsPrefix              string
	groupsSuffix              string
	newGroups                 []NewGroupFromClaims
	allowedGroups             []string
	insecureSkipEmailVerified bool
}

func (c *Config) claimRules() (claimRules, error) {
	r := claimRules{
		userIDKey:                 orDefault(c.UserIDKey, "sub"),
		userNameKey:               c.UserNameKey,
		preferredUsernameKey:      orDefault(c.ClaimMapping.PreferredUsernameKey, "preferred_username"),
		emailKey:                  orDefault(c.ClaimMapping.EmailKey, "email"),
		groupsKey:                 orDefault(c.ClaimMapping.GroupsKey, "groups"),
		groupsPrefix:              c.ClaimModifications.ModifyGroupNames.Prefix,
		groupsSuffix:              c.ClaimModifications.ModifyGroupNames.Suffix,
		newGroups:                 c.ClaimModifications.NewGroupFromClaims,
		allowedGroups:             c.AllowedGroups,
		insecureSkipEmailVerified: c.InsecureSkipEmailVerified,
		standardClaimsFirst:       c.OverrideClaimMapping != nil && !*c.OverrideClaimMapping,
		readGroups:                c.InsecureEnableGroups == nil || *c.InsecureEnableGroups,
	}
	if f := c.ClaimModifications.FilterGroupClaims.GroupsFilter; f != "" {
		re, err := regexp.Compile(f)
		if err != nil {
			return r, fmt.Errorf("spectrocloud: claimModifications.filterGroupClaims.groupsFilter %q is not a valid regular expression: %w", f, err)
		}
		r.groupsFilter = re
	}
	for i, g := range r.newGroups {
		if len(g.Claims) == 0 {
			return r, fmt.Errorf("spectrocloud: claimModifications.newGroupFromClaims[%d].claims must list at least one claim", i)
		}
	}
	for i, g := range r.allowedGroups {
		if strings.TrimSpace(g) == "" {
			return r, fmt.Errorf("spectrocloud: allowedGroups[%d] is empty", i)
		}
	}
	return r, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ClaimError reports an ID token whose claims cannot be turned into an
// identity (a required claim missing or of the wrong type).
type ClaimError struct {
	Claim  string
	Reason string
	// Key, when set, is the configuration key that names the claim (such
	// as userIDKey), and Advice says what to set instead.
	Key, Advice string
}

func (e *ClaimError) Error() string {
	msg := fmt.Sprintf("spectrocloud: ID token claim %q %s", e.Claim, e.Reason)
	if e.Key != "" {
		msg += fmt.Sprintf(" (%s names it)", e.Key)
	}
	if e.Advice != "" {
		msg += ": " + e.Advice
	}
	return msg
}

// identity maps claims to a Dex identity without groups filtering by scope;
// the caller decides whether groups are returned. The returned groups are the
// final list (upstream groups, modified, plus new groups), already checked
// against allowedGroups by checkAllowedGroups.
func (r *claimRules) identity(claims map[string]any) (connector.Identity, error) {
	var id connector.Identity
	var err error
	if id.UserID, err = requiredString(claims, r.userIDKey); err != nil {
		return id, r.userIDError(claims, err)
	}
	if id.Username, err = r.userName(claims); err != nil {
		return id, err
	}
	if id.PreferredUsername, err = optionalString(claims, r.claimKey(claims, "preferred_username", r.preferredUsernameKey)); err != nil {
		return id, err
	}
	if id.Email, err = requiredString(claims, r.claimKey(claims, "email", r.emailKey)); err != nil {
		return id, fmt.Errorf("%w: Palette must release the user's email (request the email scope)", err)
	}
	if id.EmailVerified, err = r.emailVerified(claims); err != nil {
		return id, err
	}
	if id.Groups, err = r.groups(claims); err != nil {
		return id, err
	}
	return id, nil
}

// userIDError says, for a user ID claim that is missing or unusable, which
// key names it and what to set instead: the email claim when the token has
// one, as the Backstage module falls back to the email when sub is missing.
func (r *claimRules) userIDError(claims map[string]any, err error) error {
	var ce *ClaimError
	if !errors.As(err, &ce) {
		return err
	}
	ce.Key = "userIDKey"
	email := r.claimKey(claims, "email", r.emailKey)
	if v, _ := claims[email].(string); strings.TrimSpace(v) != "" && email != r.userIDKey {
		ce.Advice = fmt.Sprintf("set userIDKey to a claim the ID token carries, such as userIDKey: %s "+
			"(as the Backstage module does when sub is missing, though a user whose email changes then becomes another user)", email)
	} else {
		ce.Advice = "set userIDKey to a claim the ID token carries that names the user for good (check --sign-in lists the claims)"
	}
	return ce
}

// claimKey returns the claim to read for a standard claim: the one
// claimMapping names, or, with overrideClaimMapping: false, the standard
// claim itself when it is present, as Dex's oidc connector does.
func (r *claimRules) claimKey(claims map[string]any, standard, mapped string) string {
	if r.standardClaimsFirst {
		if v, ok := claims[standard]; ok && v != nil {
			return standard
		}
	}
	return mapped
}

func (r *claimRules) userName(claims map[string]any) (string, error) {
	if r.userNameKey != "" {
		return requiredString(claims, r.userNameKey)
	}
	if name, _ := claims["name"].(string); strings.TrimSpace(name) != "" {
		return name, nil
	}
	given, _ := claims["given_name"].(string)
	family, _ := claims["family_name"].(string)
	if full := strings.TrimSpace(strings.TrimSpace(given) + " " + strings.TrimSpace(family)); full != "" {
		return full, nil
	}
	for _, key := range []string{r.claimKey(claims, "email", r.emailKey), "sub"} {
		if v, _ := claims[key].(string); v != "" {
			return v, nil
		}
	}
	return "", &ClaimError{Claim: "name", Reason: "is missing, and so are given_name, family_name, email and sub"}
}

// emailVerified: Palette signs users in by email, so an absent claim counts
// as verified; an explicit false is refused unless insecureSkipEmailVerified.
func (r *claimRules) emailVerified(claims map[string]any) (bool, error) {
	v, ok := claims["email_verified"]
	if !ok || v == nil {
		return true, nil
	}
	var verified bool
	switch t := v.(type) {
	case bool:
		verified = t
	case string:
		switch strings.ToLower(t) {
		case "true":
			verified = true
		case "false":
			verified = false
		default:
			return false, &ClaimError{Claim: "email_verified", Reason: "must be true or false"}
		}
	default:
		return false, &ClaimError{Claim: "email_verified", Reason: "must be a boolean"}
	}
	if !verified {
		if r.insecureSkipEmailVerified {
			return true, nil
		}
		return false, &ClaimError{Claim: "email_verified", Reason: "is false: the email address is not verified in Palette (insecureSkipEmailVerified: true accepts such users)"}
	}
	return true, nil
}

// groups applies claimModifications in the order of Dex's oidc connector:
// filter and rename the upstream groups, then add the new groups.
func (r *claimRules) groups(claims map[string]any) ([]string, error) {
	var upstream []string
	if r.readGroups {
		var err error
		if upstream, err = groupClaim(claims, r.claimKey(claims, "groups", r.groupsKey)); err != nil {
			return nil, err
		}
	}
	var groups []string
	for _, g := range upstream {
		if r.groupsFilter != nil && !r.groupsFilter.MatchString(g) {
			continue
		}
		groups = append(groups, r.groupsPrefix+g+r.groupsSuffix)
	}
	for _, ng := range r.newGroups {
		segments := []string{ng.Prefix}
		for _, name := range ng.Claims {
			v, ok := claims[name].(string)
			if !ok {
				continue
			}
			if ng.ClearDelimiter && ng.Delimiter != "" {
				v = strings.ReplaceAll(v, ng.Delimiter, "")
			}
			segments = append(segments, v)
		}
		if len(segments) > 1 {
			groups = append(groups, strings.Join(segments, ng.Delimiter))
		}
	}
	return groups, nil
}

// checkAllowedGroups refuses users in none of allowedGroups. An entry in the
// form of a Backstage catalog group reference (group:<namespace>/<name>) is
// met only by a catalog group, any other entry only by a Palette group, so
// that a Palette team named like a catalog group cannot pass for it.
func (r *claimRules) checkAllowedGroups(userID string, paletteGroups, catalogGroups []string) error {
	if len(r.allowedGroups) == 0 {
		return nil
	}
	for _, g := range r.allowedGroups {
		source := paletteGroups
		if isCatalogGroupRef(g) {
			source = catalogGroups
		}
		if contains(source, g) {
			return nil
		}
	}
	return &connector.UserNotInRequiredGroupsError{UserID: userID, Groups: r.allowedGroups}
}

// groupClaim reads a groups claim: a JSON array of strings (or of objects with
// a string "name", as some providers send), or a single string.
func groupClaim(claims map[string]any, key string) ([]string, error) {
	switch v := claims[key].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			switch g := item.(type) {
			case string:
				out = append(out, g)
			case map[string]any:
				name, ok := g["name"].(string)
				if !ok {
					return nil, &ClaimError{Claim: key, Reason: "has an object entry without a string name"}
				}
				out = append(out, name)
			default:
				return nil, &ClaimError{Claim: key, Reason: "must be a list of strings"}
			}
		}
		return out, nil
	default:
		return nil, &ClaimError{Claim: key, Reason: "must be a list of strings or a string"}
	}
}

func requiredString(claims map[string]any, key string) (string, error) {
	v, ok := claims[key]
	if !ok || v == nil {
		return "", &ClaimError{Claim: key, Reason: "is missing"}
	}
	s, ok := v.(string)
	if !ok {
		return "", &ClaimError{Claim: key, Reason: "must be a string"}
	}
	if strings.TrimSpace(s) == "" {
		return "", &ClaimError{Claim: key, Reason: "is empty"}
	}
	return s, nil
}

func optionalString(claims map[string]any, key string) (string, error) {
	v, ok := claims[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &ClaimError{Claim: key, Reason: "must be a string"}
	}
	return s, nil
}

var errNoIDToken = errors.New("spectrocloud: the token response from Palette has no id_token")

// isCatalogGroupRef reports whether g has the form of a Backstage catalog
// group reference, group:<namespace>/<name>, as the catalog resolver
// returns groups.
func isCatalogGroupRef(g string) bool {
	rest, ok := strings.CutPrefix(g, "group:")
	ns, name, ok2 := strings.Cut(rest, "/")
	return ok && ok2 && ns != "" && name != ""
}
