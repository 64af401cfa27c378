package resolver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
)

// byQueryPath is Backstage's catalog endpoint for filtered entity queries.
const byQueryPath = "/api/catalog/entities/by-query"

// byQueryFields limits the entity fields the catalog returns to those the
// resolvers read.
const byQueryFields = "kind,metadata.name,metadata.namespace,spec.memberOf,relations"

// catalogClient looks users up in Backstage's catalog and caches the answers.
type catalogClient struct {
	baseURL  string
	endpoint string
	token    string
	timeout  time.Duration
	groups   bool
	http     *http.Client
	cache    *answerCache
	logger   *slog.Logger
	observe  func(error, time.Duration) // nil: not observed
}

func newCatalogClient(cc *CatalogConfig, hc *http.Client, now func() time.Time, logger *slog.Logger, observe func(error, time.Duration)) (*catalogClient, error) {
	const key = keyPrefix + ".catalog"
	base, err := parseBaseURL(cc.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s.baseURL: %w", key, err)
	}
	token := cc.Token
	if cc.TokenFile != "" {
		b, err := os.ReadFile(cc.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("%s.tokenFile: cannot read the token: %w", key, err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("%s.tokenFile: %s holds no token", key, cc.TokenFile)
		}
		if err := checkToken(token); err != nil {
			return nil, fmt.Errorf("%s.tokenFile: %w", key, err)
		}
	}
	timeout := cc.timeoutOrDefault()
	var client http.Client
	if hc != nil {
		client = *hc
	} else {
		client.Timeout = timeout
	}
	// The token is for the configured catalog only: a redirect, which would
	// take it elsewhere, is answered as it is, and so fails the lookup.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &catalogClient{
		baseURL:  base,
		endpoint: base + byQueryPath,
		token:    token,
		timeout:  timeout,
		groups:   cc.GroupsFromMembership,
		http:     &client,
		cache:    newAnswerCache(cc.cacheTTLOrDefault(), CatalogCacheMaxEntries, now),
		logger:   logger,
		observe:  observe,
	}, nil
}

// checkToken rejects tokens that cannot travel in an Authorization header.
// The message never shows the token.
func checkToken(token string) error {
	for _, r := range token {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("the token must be a single word, without spaces or control characters")
		}
	}
	return nil
}

// filterValueProblem says why value cannot be written into a by-query filter
// without changing its meaning, or returns "". Backstage splits a filter at
// commas, takes the first = of each part as the end of the key, and trims
// whitespace around keys and values; so a value must hold no comma and no
// surrounding whitespace. Any other character, = included, is safe once the
// query string is encoded.
func filterValueProblem(value string) string {
	switch {
	case value == "":
		return "is empty"
	case strings.ContainsRune(value, ','):
		return "contains a comma"
	case strings.TrimFunc(value, isTrimmed) != value:
		return "has surrounding whitespace"
	}
	return ""
}

// isTrimmed reports the characters JavaScript's String.prototype.trim removes.
func isTrimmed(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF'
}

// catalogAnswer is the catalog's answer to one user query.
type catalogAnswer struct {
	// matches is 0 (no such user), 1 (user is set) or 2 (more than one).
	matches int
	user    *catalogUser
}

// findUser returns the User entities whose field equals value. The caller
// has checked value with filterValueProblem.
func (c *catalogClient) findUser(ctx context.Context, field, value string) (catalogAnswer, error) {
	filter := "kind=user," + field + "=" + value
	kept := lookupsFrom(ctx)
	if ans, ok := kept.get(filter); ok {
		return ans, nil
	}
	if ans, ok := c.cache.get(filter); ok {
		if c.logger.Enabled(ctx, slog.LevelDebug) {
			c.logger.DebugContext(ctx, "catalog lookup", "filter", filter, "cached", true, "matches", ans.matches)
		}
		kept.put(filter, ans)
		return ans, nil
	}
	if kept != nil && kept.offline {
		return catalogAnswer{}, c.fail(CatalogUnavailable, 0, errNotLookedUp)
	}
	start := time.Now()
	ans, err := c.query(ctx, filter)
	if c.observe != nil {
		c.observe(err, time.Since(start))
	}
	if err != nil {
		return catalogAnswer{}, err
	}
	c.cache.put(filter, ans)
	kept.put(filter, ans)
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		c.logger.DebugContext(ctx, "catalog lookup", "filter", filter, "cached", false, "matches", ans.matches)
	}
	return ans, nil
}

// byQueryResponse is the part of a by-query response the resolvers read.
type byQueryResponse struct {
	Items      *[]wireEntity `json:"items"`
	TotalItems int           `json:"totalItems"`
}

// query sends one by-query request, bound by the catalog timeout. It asks
// for at most two entities: two are enough to know the match is not unique.
func (c *catalogClient) query(ctx context.Context, filter string) (catalogAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	params := url.Values{}
	params.Set("filter", filter)
	params.Set("limit", "2")
	params.Set("fields", byQueryFields)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+params.Encode(), nil)
	if err != nil {
		return catalogAnswer{}, c.fail(CatalogBadResponse, 0, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error repeats the request URL; keep only its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return catalogAnswer{}, c.fail(CatalogUnavailable, 0, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return catalogAnswer{}, c.fail(CatalogTokenRejected, code, nil)
	case code >= 500:
		return catalogAnswer{}, c.fail(CatalogUnavailable, code, nil)
	case code != http.StatusOK:
		return catalogAnswer{}, c.fail(CatalogBadResponse, code, nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, CatalogMaxResponseBytes+1))
	if err != nil {
		return catalogAnswer{}, c.fail(CatalogUnavailable, 0, fmt.Errorf("read response: %w", err))
	}
	if len(body) > CatalogMaxResponseBytes {
		return catalogAnswer{}, c.fail(CatalogBadResponse, 0, fmt.Errorf("response larger than %d bytes", CatalogMaxResponseBytes))
	}
	var parsed byQueryResponse
	if err := json.Unmarshal(body, &parsed); err != nil {
		return catalogAnswer{}, c.fail(CatalogBadResponse, 0, fmt.Errorf("not a by-query response: %w", err))
	}
	if parsed.Items == nil {
		return catalogAnswer{}, c.fail(CatalogBadResponse, 0, errors.New("not a by-query response: no items"))
	}
	items := *parsed.Items
	switch {
	case len(items) > 1 || parsed.TotalItems > 1:
		return catalogAnswer{matches: 2}, nil
	case len(items) == 0:
		return catalogAnswer{}, nil
	}
	user, err := items[0].user(c.groups)
	if err != nil {
		return catalogAnswer{}, c.fail(CatalogBadResponse, 0, err)
	}
	return catalogAnswer{matches: 1, user: user}, nil
}

func (c *catalogClient) fail(kind CatalogErrorKind, status int, err error) *CatalogError {
	return &CatalogError{Kind: kind, BaseURL: c.baseURL, StatusCode: status, Err: err}
}
