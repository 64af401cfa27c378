package spectrocloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// defaultConsoleURL is the console of SpectroCloud's SaaS Palette. Self-hosted
// Palette and VerteX installations have their own console URL.
const defaultConsoleURL = "https://console.spectrocloud.com"

// maxJWKSMaxStale is the longest jwksMaxStale accepted: a week.
const maxJWKSMaxStale = 168 * time.Hour

// defaultUpstreamTimeout bounds every request to Palette when upstreamTimeout
// is not configured.
const defaultUpstreamTimeout = 10 * time.Second

// Config holds the configuration of the spectrocloud connector. Keys that
// mean the same as in Dex's built-in oidc connector carry the same names.
//
// Unknown keys are rejected: a misspelled key fails start-up instead of being
// silently ignored.
type Config struct {
	// Tenant is the Palette tenant UID. With ConsoleURL it determines the
	// issuer, <consoleURL>/v1/oidc/tenant/<tenant>.
	Tenant string `json:"tenant"`
	// ConsoleURL is the Palette console. Defaults to SaaS Palette's,
	// https://console.spectrocloud.com.
	ConsoleURL string `json:"consoleURL"`
	// Issuer is the tenant's OIDC issuer. It may be given instead of Tenant;
	// when both are given they must agree.
	Issuer string `json:"issuer"`

	ClientID     string `json:"clientID"`
	ClientSecret string `json:"clientSecret"`
	// RedirectURI is Dex's callback URL, <dex issuer>/callback, registered
	// exactly in the Palette OAuth client.
	RedirectURI string `json:"redirectURI"`

	// Scopes requested from Palette. Defaults to openid, profile and email;
	// openid is always requested.
	Scopes []string `json:"scopes"`

	// ProviderDiscoveryOverrides replaces single endpoints of the discovery
	// document. JWKSURL is required when discovery is unavailable.
	ProviderDiscoveryOverrides ProviderDiscoveryOverrides `json:"providerDiscoveryOverrides"`

	// RootCAs are PEM certificates (file paths, PEM text or base64 PEM)
	// trusted in addition to the system pool for requests to Palette.
	RootCAs []string `json:"rootCAs"`
	// InsecureSkipVerify disables TLS verification towards Palette.
	InsecureSkipVerify bool `json:"insecureSkipVerify"`
	// InsecureSkipEmailVerified accepts ID tokens whose email_verified is false.
	InsecureSkipEmailVerified bool `json:"insecureSkipEmailVerified"`
	// InsecureAllowMissingNonce accepts ID tokens without a nonce claim, for
	// Palette versions that do not echo the nonce. A nonce that is present
	// must still match.
	InsecureAllowMissingNonce bool `json:"insecureAllowMissingNonce"`
	// BasicAuthUnsupported chooses how the client authenticates at the
	// token endpoint. True: client_secret_post (the client secret in the
	// form body). False: client_secret_basic (HTTP basic authentication).
	// Unset: client_secret_basic only when discovery lists it and not
	// client_secret_post, else client_secret_post; when the token endpoint
	// refuses the method, the next sign-in tries the other one.
	BasicAuthUnsupported *bool `json:"basicAuthUnsupported"`
	// PKCEChallenge is the PKCE method: S256 (default), plain, or none.
	PKCEChallenge string `json:"pkceChallenge"`
	// PromptType is sent as prompt: "" (not sent), login, none, consent or
	// select_account.
	PromptType string `json:"promptType"`

	// UserIDKey is the claim used as the user ID. Defaults to sub.
	UserIDKey string `json:"userIDKey"`
	// UserNameKey is the claim used as the user name. When unset: name, else
	// given_name + family_name, else email, else sub.
	UserNameKey string `json:"userNameKey"`

	// AllowedGroups, when not empty, admits only users in at least one of
	// these groups (after claimModifications).
	AllowedGroups []string `json:"allowedGroups"`

	ClaimMapping ClaimMapping `json:"claimMapping"`
	// OverrideClaimMapping has the meaning of Dex's oidc connector. Unset or
	// true: the claims named in claimMapping are read. False: the standard
	// claims (preferred_username, email, groups) are read when present, and
	// those named in claimMapping only in their absence, as Dex's oidc
	// connector does by default.
	OverrideClaimMapping *bool `json:"overrideClaimMapping"`
	// InsecureEnableGroups is accepted for files written for Dex's oidc
	// connector, which reads no groups without it. Unset or true: the groups
	// claim (Palette's teams) is read. False: it is not read, and the groups
	// are only those that claimModifications.newGroupFromClaims and the
	// catalog add.
	InsecureEnableGroups *bool              `json:"insecureEnableGroups"`
	ClaimModifications   ClaimModifications `json:"claimModifications"`

	// Keys of Dex's oidc connector that have no sound meaning with Palette.
	// They are decoded so that a file written for that connector is refused
	// with the reason when one of them is set, not as an unknown key; their
	// zero values (false, empty) are accepted, since they ask for nothing.

	// GetUserInfo is refused when true: Palette documents no userinfo
	// endpoint, and the claims come from the verified ID token.
	GetUserInfo bool `json:"getUserInfo"`
	// HostedDomains is refused when not empty; Dex's oidc connector refuses
	// it too. signIn.resolvers[].allowedDomains admits email domains.
	HostedDomains []string `json:"hostedDomains"`
	// IssuerAlias is refused when set: discovery and ID tokens must name the
	// configured issuer exactly.
	IssuerAlias string `json:"issuerAlias"`
	// AcrValues is refused when not empty: Palette documents no
	// authentication context classes, so nothing would enforce them.
	AcrValues []string `json:"acrValues"`

	// SignIn configures sign-in resolvers deciding who the signed-in user is.
	SignIn *resolver.Config `json:"signIn"`

	// UpstreamTimeout bounds each request to Palette, as a Go duration
	// ("10s"). Defaults to 10s.
	UpstreamTimeout string `json:"upstreamTimeout"`
	// JWKSMaxStale bounds how long past their declared lifetime Palette's
	// signing keys keep verifying sign-ins and refreshes while they cannot
	// be fetched again, as a Go duration ("4h", "0s" for not at all).
	// Tokens from outside (token exchange) never use stale keys. Defaults
	// to 4h.
	JWKSMaxStale string `json:"jwksMaxStale"`

	// Directory, when set, checks every sign-in, refresh and token exchange
	// against Palette's current users and teams (see DirectoryConfig).
	Directory *DirectoryConfig `json:"directory,omitempty"`

	// metrics receives the measurements of the connectors opened from this
	// configuration: set by the configurations of NewFactory, nil (nothing
	// recorded) in any other.
	metrics *metricSet
}

// ProviderDiscoveryOverrides replaces endpoints found by discovery.
type ProviderDiscoveryOverrides struct {
	AuthURL  string `json:"authURL"`
	TokenURL string `json:"tokenURL"`
	JWKSURL  string `json:"jwksURL"`
}

// ClaimMapping names the claims read for Dex's standard identity fields.
type ClaimMapping struct {
	PreferredUsernameKey string `json:"preferred_username"` // default preferred_username
	EmailKey             string `json:"email"`              // default email
	GroupsKey            string `json:"groups"`             // default groups
}

// ClaimModifications changes the groups, with the meaning of Dex's oidc
// connector.
type ClaimModifications struct {
	NewGroupFromClaims []NewGroupFromClaims `json:"newGroupFromClaims"`
	FilterGroupClaims  FilterGroupClaims    `json:"filterGroupClaims"`
	ModifyGroupNames   ModifyGroupNames     `json:"modifyGroupNames"`
}

// NewGroupFromClaims adds one group made of the string values of Claims,
// joined by Delimiter and preceded by Prefix. Claims that are absent or not
// strings are left out.
type NewGroupFromClaims struct {
	Claims         []string `json:"claims"`
	Delimiter      string   `json:"delimiter"`
	ClearDelimiter bool     `json:"clearDelimiter"` // remove Delimiter from claim values
	Prefix         string   `json:"prefix"`
}

// FilterGroupClaims keeps only the upstream groups matching GroupsFilter.
type FilterGroupClaims struct {
	GroupsFilter string `json:"groupsFilter"`
}

// ModifyGroupNames adds a prefix and a suffix to every upstream group.
type ModifyGroupNames struct {
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
}

// UnmarshalJSON decodes the configuration as encoding/json does, but
// strictly: unknown keys are errors.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(c)); err != nil {
		return fmt.Errorf("spectrocloud: config: %s", describeJSONError(err))
	}
	if dec.More() {
		return errors.New("spectrocloud: config: unexpected data after the configuration object")
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("key %q: expected %s, got a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown key " + rest
	}
	return strings.TrimPrefix(msg, "json: ")
}

// PKCE methods accepted in pkceChallenge.
const (
	pkceS256  = "S256"
	pkcePlain = "plain"
	pkceNone  = "none"
)

var (
	validPrompts = []string{"", "login", "none", "consent", "select_account"}
	tenantRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// settings is a validated configuration with every default applied.
type settings struct {
	issuer                    string
	clientID                  string
	clientSecret              string
	redirectURI               string
	scopes                    []string
	overrides                 ProviderDiscoveryOverrides
	rootCAs                   []string
	insecureSkipVerify        bool
	insecureSkipEmailVerified bool
	insecureAllowMissingNonce bool
	authMode                  authMode
	pkce                      string // "" when off
	prompt                    string
	timeout                   time.Duration
	jwksMaxStale              time.Duration
	claims                    claimRules
	signIn                    *resolver.Config
	directory                 *directorySettings // nil without a directory block
}

// catalogGroups reports whether the sign-in resolvers add the user's catalog
// groups to the Palette groups.
func (s *settings) catalogGroups() bool {
	return s.signIn != nil && s.signIn.Catalog != nil && s.signIn.Catalog.GroupsFromMembership
}

// validate checks every key and returns the settings with defaults applied.
// Each error names the offending key.
func (c *Config) validate() (*settings, error) {
	s := &settings{
		clientID:                  c.ClientID,
		clientSecret:              c.ClientSecret,
		redirectURI:               c.RedirectURI,
		overrides:                 c.ProviderDiscoveryOverrides,
		rootCAs:                   c.RootCAs,
		insecureSkipVerify:        c.InsecureSkipVerify,
		insecureSkipEmailVerified: c.InsecureSkipEmailVerified,
		insecureAllowMissingNonce: c.InsecureAllowMissingNonce,
		authMode:                  authModeOf(c.BasicAuthUnsupported),
		prompt:                    c.PromptType,
		signIn:                    c.SignIn,
	}
	if err := c.refuseOIDCOnlyKeys(); err != nil {
		return nil, err
	}
	var err error
	if s.issuer, err = c.resolveIssuer(); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"clientID", c.ClientID}, {"clientSecret", c.ClientSecret}, {"redirectURI", c.RedirectURI}} {
		if strings.TrimSpace(kv[1]) == "" {
			return nil, fmt.Errorf("spectrocloud: %s is required", kv[0])
		}
	}
	if err := checkURL("redirectURI", c.RedirectURI); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{
		{"providerDiscoveryOverrides.authURL", c.ProviderDiscoveryOverrides.AuthURL},
		{"providerDiscoveryOverrides.tokenURL", c.ProviderDiscoveryOverrides.TokenURL},
		{"providerDiscoveryOverrides.jwksURL", c.ProviderDiscoveryOverrides.JWKSURL},
	} {
		if kv[1] == "" {
			continue
		}
		if err := checkURL(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	s.scopes = normalizeScopes(c.Scopes)
	switch c.PKCEChallenge {
	case "", pkceS256:
		s.pkce = pkceS256
	case pkcePlain:
		s.pkce = pkcePlain
	case pkceNone:
		s.pkce = ""
	default:
		return nil, fmt.Errorf("spectrocloud: pkceChallenge %q is not supported: use S256 (default), plain or none", c.PKCEChallenge)
	}
	if !contains(validPrompts, c.PromptType) {
		return nil, fmt.Errorf("spectrocloud: promptType %q is not supported: use one of login, none, consent, select_account, or leave it empty", c.PromptType)
	}
	s.timeout = defaultUpstreamTimeout
	if c.UpstreamTimeout != "" {
		d, err := time.ParseDuration(c.UpstreamTimeout)
		if err != nil || d <= 0 || d > 5*time.Minute {
			return nil, fmt.Errorf("spectrocloud: upstreamTimeout %q must be a duration between 0s and 5m, such as \"10s\"", c.UpstreamTimeout)
		}
		s.timeout = d
	}
	s.jwksMaxStale = defaultJWKSMaxStale
	if c.JWKSMaxStale != "" {
		d, err := time.ParseDuration(c.JWKSMaxStale)
		if err != nil || d < 0 || d > maxJWKSMaxStale {
			return nil, fmt.Errorf("spectrocloud: jwksMaxStale %q must be a duration from 0s to %s, such as \"4h\"", c.JWKSMaxStale, maxJWKSMaxStale)
		}
		s.jwksMaxStale = d
	}
	if s.claims, err = c.claimRules(); err != nil {
		return nil, err
	}
	if s.directory, err = c.Directory.validate(s.issuer); err != nil {
		return nil, err
	}
	// signIn is validated, and its expressions compiled, once, by
	// resolver.New in open.
	return s, nil
}

// refuseOIDCOnlyKeys refuses the keys of Dex's oidc connector that have no
// sound meaning with Palette, naming the key, why, and what to use instead.
func (c *Config) refuseOIDCOnlyKeys() error {
	switch {
	case c.GetUserInfo:
		return errors.New("spectrocloud: getUserInfo is not supported, since Palette documents no userinfo endpoint and the claims come from its verified ID token: " +
			"remove the key (claimMapping, userIDKey and userNameKey choose the claims)")
	case len(c.HostedDomains) > 0:
		return errors.New("spectrocloud: hostedDomains is not supported: admit email domains with signIn.resolvers[].allowedDomains")
	case c.IssuerAlias != "":
		return fmt.Errorf("spectrocloud: issuerAlias %q is not supported, since Palette's ID tokens must name the configured issuer: "+
			"set issuer to the issuer they carry, and providerDiscoveryOverrides for endpoints at another address", c.IssuerAlias)
	case len(c.AcrValues) > 0:
		return errors.New("spectrocloud: acrValues is not supported, since Palette has no authentication context classes to enforce them: " +
			"require stronger sign-in in the Palette tenant's settings and remove the key")
	}
	return nil
}

// resolveIssuer returns the issuer from issuer, or from tenant and consoleURL.
func (c *Config) resolveIssuer() (string, error) {
	console := strings.TrimRight(c.ConsoleURL, "/")
	if console == "" {
		console = defaultConsoleURL
	} else if err := checkURL("consoleURL", console); err != nil {
		return "", err
	}
	var fromTenant string
	if c.Tenant != "" {
		if !tenantRE.MatchString(c.Tenant) {
			return "", fmt.Errorf("spectrocloud: tenant %q is not a tenant UID: use letters, digits, '.', '_' or '-'", c.Tenant)
		}
		fromTenant = console + "/v1/oidc/tenant/" + c.Tenant
	}
	switch {
	case c.Issuer == "" && fromTenant == "":
		return "", errors.New("spectrocloud: set tenant (with consoleURL for self-hosted Palette) or issuer")
	case c.Issuer == "":
		return fromTenant, nil
	}
	if err := checkURL("issuer", c.Issuer); err != nil {
		return "", err
	}
	issuer := strings.TrimRight(c.Issuer, "/")
	if fromTenant != "" && issuer != fromTenant {
		return "", fmt.Errorf("spectrocloud: issuer %q disagrees with tenant and consoleURL, which give %q: set one of them", c.Issuer, fromTenant)
	}
	if c.ConsoleURL != "" && fromTenant == "" {
		return "", errors.New("spectrocloud: consoleURL is only used with tenant: with issuer, leave it out")
	}
	return issuer, nil
}

// checkURL accepts absolute http and https URLs without a fragment.
func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("spectrocloud: %s %q is not a URL: %w", key, raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("spectrocloud: %s %q must be an absolute http or https URL", key, raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("spectrocloud: %s %q must not contain a fragment or user information", key, raw)
	}
	return nil
}

func normalizeScopes(configured []string) []string {
	if len(configured) == 0 {
		return []string{"openid", "profile", "email"}
	}
	scopes := []string{"openid"}
	for _, s := range configured {
		if s != "openid" && !contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CheckAPIConfig implements connhook.APIConfigChecker: a connector created
// or updated through Dex's gRPC API may not name a file for Dex to read on
// its host and send to an address the API's caller chooses:
// signIn.catalog.tokenFile (sent to signIn.catalog.baseURL) and
// directory.apiKeyFile (sent to directory.apiURL).
func (c *Config) CheckAPIConfig() error {
	if c.SignIn != nil && c.SignIn.Catalog != nil && c.SignIn.Catalog.TokenFile != "" {
		return errors.New("signIn.catalog.tokenFile is refused through the gRPC API, since Dex would send that file of its host to signIn.catalog.baseURL: " +
			"give signIn.catalog.token, or define the connector in the config file")
	}
	if c.Directory != nil && c.Directory.APIKeyFile != "" {
		return errors.New("directory.apiKeyFile is refused through the gRPC API, since Dex would send that file of its host to directory.apiURL: " +
			"give directory.apiKey, or define the connector in the config file")
	}
	return nil
}
