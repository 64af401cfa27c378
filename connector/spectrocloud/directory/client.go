package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Defaults and bounds of a Client.
const (
	// DefaultRequestsPerSecond is the pace of a Client: half of Palette's
	// documented limit (ten per second per source address), leaving room
	// for a second replica or another tool behind the same address.
	DefaultRequestsPerSecond = 5
	// MaxRequestsPerSecond is Palette's documented limit.
	MaxRequestsPerSecond = 10
	// DefaultMaxResponseBytes bounds every answer read: a page of 50 teams
	// lists their members' UIDs, about 27 bytes each.
	DefaultMaxResponseBytes = 8 << 20
	// maxRetryAfter caps how long a 429's Retry-After is honoured.
	maxRetryAfter = time.Minute
	// maxAttempts bounds the attempts of one request answered 429;
	// maxFaultAttempts those of one that meets 5xx answers or transport
	// errors. Other failures are not tried again.
	maxAttempts      = 6
	maxFaultAttempts = 3
	// pageSize is the largest page Palette serves, and the one asked for.
	pageSize = 50
)

// Outcomes of a request, as Config.Observe receives them.
const (
	OutcomeOK           = "ok"
	OutcomeRateLimited  = "rate_limited"
	OutcomeUnauthorized = "unauthorized"
	OutcomeForbidden    = "forbidden"
	OutcomeError        = "error"
)

// Endpoints, as Config.Observe receives them.
const (
	EndpointUsers        = "users"
	EndpointTeams        = "teams"
	EndpointUsersSummary = "users_summary"
)

// Config configures a Client.
type Config struct {
	// BaseURL is Palette's API address, such as https://api.spectrocloud.com
	// or a self-hosted console's URL; paths /v1/... are appended to it.
	BaseURL string
	// APIKey returns the API key sent in the ApiKey header. It is called for
	// every sync, so that a key read from a file can be rotated.
	APIKey func() (string, error)
	// HTTPClient sends the requests; its Timeout bounds each one. The
	// Client uses a copy that follows no redirect (the key would go
	// along): a 3xx answer is an error that names its status.
	HTTPClient *http.Client
	// RequestsPerSecond paces the requests; 0 means
	// DefaultRequestsPerSecond.
	RequestsPerSecond float64
	// MaxResponseBytes bounds every answer read; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Observe, when set, is told of every request: its endpoint, outcome
	// and duration.
	Observe func(endpoint, outcome string, elapsed time.Duration)
}

// Client reads a tenant's users and teams. It is safe for concurrent use;
// all its requests share one pace.
type Client struct {
	base    string
	apiKey  func() (string, error)
	http    *http.Client
	maxBody int64
	observe func(endpoint, outcome string, elapsed time.Duration)
	pace    *pacer
}

// New returns a Client for cfg. It sends its requests through a copy of
// cfg.HTTPClient that follows no redirect.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("directory: base URL %q is not an absolute http or https URL", cfg.BaseURL)
	}
	if cfg.APIKey == nil || cfg.HTTPClient == nil {
		return nil, errors.New("directory: APIKey and HTTPClient are required")
	}
	rate := cfg.RequestsPerSecond
	if rate == 0 {
		rate = DefaultRequestsPerSecond
	}
	if rate < 0 || rate > MaxRequestsPerSecond {
		return nil, fmt.Errorf("directory: %v requests per second is outside (0, %d]", rate, MaxRequestsPerSecond)
	}
	maxBody := cfg.MaxResponseBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxResponseBytes
	}
	observe := cfg.Observe
	if observe == nil {
		observe = func(string, string, time.Duration) {}
	}
	// Go's client sends the ApiKey header on to a redirect's target:
	// whatever client it is given, this one follows none.
	hc := *cfg.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:  cfg.APIKey,
		http:    &hc,
		maxBody: maxBody,
		observe: observe,
		pace:    &pacer{interval: time.Duration(float64(time.Second) / rate)},
	}, nil
}

// BaseURL returns the API address the client uses.
func (c *Client) BaseURL() string { return c.base }

// APIError is an answer of Palette's API other than 200: its HTTP status
// and, when the body is Palette's error object (v1Error), its code and
// message, cut short and cleaned of control characters.
type APIError struct {
	// Endpoint is the path asked for, such as /v1/users.
	Endpoint string
	Status   int
	Code     string
	Message  string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s answered HTTP %d", e.Endpoint, e.Status)
	switch e.Status {
	case http.StatusUnauthorized:
		msg += ": the API key was refused (revoked, expired, or not a key of this Palette)"
	case http.StatusForbidden:
		msg += ": the API key's user may not read it: give that user a read-only tenant role such as Tenant Viewer"
	case http.StatusNotFound:
		msg += ": no such endpoint: check the API address"
	case http.StatusTooManyRequests:
		msg += ": rate limited, and still after retrying"
	}
	if e.Code != "" || e.Message != "" {
		msg += fmt.Sprintf(" (%s %s)", e.Code, e.Message)
	}
	return msg
}

// request is one call of the API.
type request struct {
	endpoint string // for Observe
	method   string
	path     string // below the base URL, with its query
	body     []byte // JSON, for POST
}

// do sends req, paced, trying again after a 429 (honouring Retry-After), a
// 5xx answer or a transport error, and decodes a 200 answer into out. It
// returns the number of attempts made and of 429 answers met.
func (c *Client) do(ctx context.Context, key string, req request, out any) (attempts, limited int, err error) {
	backoff := time.Second
	for attempts < maxAttempts {
		if err := c.pace.wait(ctx); err != nil {
			return attempts, limited, c.contextError(ctx, req, err)
		}
		attempts++
		retryAfter, retry, err := c.once(ctx, key, req, out)
		if err == nil {
			return attempts, limited, nil
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests {
			limited++
		}
		if !retry || attempts == maxAttempts || (attempts-limited) >= maxFaultAttempts || ctx.Err() != nil {
			return attempts, limited, err
		}
		wait := backoff
		if retryAfter > 0 {
			wait = retryAfter
		}
		backoff = min(2*backoff, 30*time.Second)
		c.pace.holdOff(wait)
	}
	return attempts, limited, errors.New("directory: unreachable")
}

func (c *Client) contextError(ctx context.Context, req request, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: the sync ran out of time", pathOnly(req.path))
	}
	return err
}

// once sends req one time. It reports, for a failure, whether trying again
// can help and how long the server asked to wait.
func (c *Client) once(ctx context.Context, key string, req request, out any) (retryAfter time.Duration, retry bool, err error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, c.base+req.path, body)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", pathOnly(req.path), err)
	}
	r.Header.Set("ApiKey", key)
	r.Header.Set("Accept", "application/json")
	if req.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(r)
	if err != nil {
		c.observe(req.endpoint, OutcomeError, time.Since(start))
		return 0, ctx.Err() == nil, fmt.Errorf("%s: %s", pathOnly(req.path), describeTransportError(err))
	}
	defer resp.Body.Close()
	data, readErr := c.read(resp.Body)
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		apiErr := newAPIError(pathOnly(req.path), resp.StatusCode, data, key)
		c.observe(req.endpoint, statusOutcome(resp.StatusCode), elapsed)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			return parseRetryAfter(resp.Header.Get("Retry-After")), true, apiErr
		case resp.StatusCode >= 500:
			return 0, true, apiErr
		}
		return 0, false, apiErr
	}
	if readErr != nil {
		c.observe(req.endpoint, OutcomeError, elapsed)
		return 0, ctx.Err() == nil && !errors.Is(readErr, errTooLarge), fmt.Errorf("%s: %w", pathOnly(req.path), readErr)
	}
	if err := json.Unmarshal(data, out); err != nil {
		c.observe(req.endpoint, OutcomeError, elapsed)
		return 0, false, fmt.Errorf("%s: the answer is not the JSON the specification describes: %s", pathOnly(req.path), cleanText(err.Error(), 200))
	}
	c.observe(req.endpoint, OutcomeOK, elapsed)
	return 0, false, nil
}

var errTooLarge = errors.New("the answer is too large")

// read reads a whole body, at most c.maxBody bytes.
func (c *Client) read(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %s", describeTransportError(err))
	}
	if int64(len(data)) > c.maxBody {
		return nil, fmt.Errorf("%w (more than %d bytes)", errTooLarge, c.maxBody)
	}
	return data, nil
}

func statusOutcome(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return OutcomeRateLimited
	case http.StatusUnauthorized:
		return OutcomeUnauthorized
	case http.StatusForbidden:
		return OutcomeForbidden
	}
	return OutcomeError
}

// newAPIError builds the error of a non-200 answer from its body, without
// ever repeating the API key.
func newAPIError(path string, status int, body []byte, key string) *APIError {
	e := &APIError{Endpoint: path, Status: status}
	var v struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil {
		// The key goes before the text is cut: a key cut in two would no
		// longer be found, and its first characters would stay.
		if key != "" {
			v.Code = strings.ReplaceAll(v.Code, key, "<API key>")
			v.Message = strings.ReplaceAll(v.Message, key, "<API key>")
		}
		e.Code, e.Message = cleanText(v.Code, 64), cleanText(v.Message, 200)
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date, capped
// at maxRetryAfter; 0 when absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, maxRetryAfter))
}

// describeTransportError says what went wrong without Go's long chain of
// addresses and syscalls.
func describeTransportError(err error) string {
	var t interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &t) && t.Timeout():
		return "Palette did not answer in time"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "Palette could not be reached: " + cleanText(err.Error(), 200)
}

// pathOnly is the path of p without its query.
func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// cleanText keeps the printable characters of s, cut after n runes.
func cleanText(s string, n int) string {
	runes := []rune(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s))
	if len(runes) > n {
		return string(runes[:n]) + "…"
	}
	return string(runes)
}
