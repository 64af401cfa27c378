package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// The whole flow, logged at debug, leaves no secret in the log: no ID,
// access or refresh token (Palette's or Dex's), authorization code (either
// one), client secret, nonce or PKCE verifier, in any encoding. It is run
// with the logger dex-spectro uses, as text and as JSON, at debug and info;
// and with a plain slog handler, which shows what upstream Dex itself logs
// and what dex-spectro's logger has to redact.
func TestLogsHoldNoSecrets(t *testing.T) {
	plain := func(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
		opts := &slog.HandlerOptions{Level: level}
		if format == "json" {
			return slog.New(slog.NewJSONHandler(w, opts)), nil
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	// Dex logs the connector data it passes to a refresh; the connector
	// returns none from a refresh, so Dex has none to log as saved.
	dexLeaks := []string{"connector data before refresh"}
	tests := []struct {
		name      string
		level     string
		format    string
		newLogger func(io.Writer, slog.Level, string) (*slog.Logger, error)
		// wantLeaks are the messages of the records expected to leak.
		wantLeaks []string
	}{
		{name: "text debug", level: "debug", format: "text"},
		{name: "json debug", level: "debug", format: "json"},
		{name: "text info", level: "info", format: "text"},
		{name: "json info", level: "info", format: "json"},
		// Upstream Dex logs the connector data, which for this connector is
		// the Palette ID token, before every refresh (the JSON handler writes
		// it base64-encoded).
		{name: "plain slog text handler, debug", level: "debug", format: "text", newLogger: plain, wantLeaks: dexLeaks},
		{name: "plain slog JSON handler, debug", level: "debug", format: "json", newLogger: plain, wantLeaks: dexLeaks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := newSecrets()
			p := StartPalette(t, sec.tap)
			p.AddUser("jane@example.com", "admins")
			e := newEnvFor(t, p, DexConfig{
				LogLevel: tt.level, LogFormat: tt.format, NewLogger: tt.newLogger,
				Connectors: []dextest.ConnectorFunc{p.SpectroCloud(connectorID, nil)},
			})
			runFlow(t, e, sec)

			leaks := sec.leaks(e.dex.Logs.String())
			for msg, what := range leaks {
				t.Logf("record %q holds: %s", msg, strings.Join(what, ", "))
			}
			assert.ElementsMatch(t, tt.wantLeaks, slices.Collect(maps.Keys(leaks)), "log records holding secrets")
		})
	}
}

// runFlow signs in, refreshes, exchanges a Palette ID token, and has a
// sign-in and a token exchange refused, recording every secret on the way.
func runFlow(t *testing.T, e *env, sec *secrets) {
	ctx := context.Background()
	sec.add("Dex client secret", ClientSecret)
	sec.add("Palette client secret", PaletteClientSecret)

	s := e.signIn(t, "jane@example.com")
	sec.add("Dex authorization code", s.Code)
	sec.add("application nonce", s.Nonce)
	sec.add("application PKCE verifier", s.Verifier)
	sec.addToken("Dex", s.OAuth2.AccessToken, s.OAuth2.RefreshToken, s.RawIDToken())
	rt := s.OAuth2.RefreshToken
	for range 2 {
		r := e.refresh(t, rt)
		sec.addToken("Dex", r.OAuth2.AccessToken, r.OAuth2.RefreshToken, r.RawIDToken())
		rt = r.OAuth2.RefreshToken
	}

	client := &http.Client{Timeout: 30 * time.Second}
	paletteIDToken := sec.last("Palette ID token")
	require.NotEmpty(t, paletteIDToken)
	status, body, err := TokenExchange(ctx, client, e.dex.Issuer, connectorID, paletteIDToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, body)
	var exchanged struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &exchanged))
	sec.add("Dex access token (token exchange)", exchanged.AccessToken)

	// A token signed by a key Palette never published is refused.
	jane := e.palette.Tenant.Users()[0]
	forged := e.palette.Tenant.MintIDToken(e.palette.Tenant.Claims(jane, PaletteClientID, ""), spectrotest.WithForeignKey())
	sec.add("forged Palette ID token", forged)
	status, _, err = TokenExchange(ctx, client, e.dex.Issuer, connectorID, forged)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status)

	// Palette refuses a code: the sign-in fails.
	e.palette.Tenant.SetFault(spectrotest.EndpointToken, spectrotest.Fault{Status: http.StatusBadRequest,
		ContentType: "application/json", Body: []byte(`{"error":"invalid_grant","error_description":"the code has expired"}`)})
	_, err = e.rp.SignIn(ctx, NewAgent("jane@example.com", nil))
	var pageErr *dextest.PageError
	require.ErrorAs(t, err, &pageErr)
	assert.Contains(t, pageErr.Page.Message(), "the code has expired", "the page says why")
	assert.Empty(t, sec.leaks(pageErr.Page.Body), "the error page holds no secret")
	e.palette.Tenant.ClearFaults()

	kinds := make(map[string]bool)
	for _, what := range sec.all() {
		kinds[what] = true
	}
	for _, what := range []string{
		"Dex client secret", "Dex authorization code", "application nonce", "application PKCE verifier",
		"Dex access token", "Dex refresh token", "Dex ID token", "Dex access token (token exchange)",
		"Palette client secret", "Palette nonce", "Palette authorization code", "Palette PKCE verifier",
		"Palette access token", "Palette refresh token", "Palette ID token", "forged Palette ID token",
	} {
		assert.True(t, kinds[what], "recorded a %s", what)
	}
}

// secrets records values that must not appear in logs, by what they are.
type secrets struct {
	mu     sync.Mutex
	values map[string]string // value -> what it is
	order  []string
}

func newSecrets() *secrets { return &secrets{values: make(map[string]string)} }

// minSecretLen leaves out values too short to be searched for safely.
const minSecretLen = 16

func (s *secrets) add(what, value string) {
	if len(value) < minSecretLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[value]; !ok {
		s.values[value] = what
		s.order = append(s.order, value)
	}
}

// addToken records the tokens of a token response.
func (s *secrets) addToken(issuer, access, refresh, id string) {
	s.add(issuer+" access token", access)
	s.add(issuer+" refresh token", refresh)
	s.add(issuer+" ID token", id)
	if parts := strings.Split(id, "."); len(parts) == 3 {
		s.add(issuer+" ID token signature", parts[2])
	}
}

// last returns the value most recently recorded as what.
func (s *secrets) last(what string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		if s.values[s.order[i]] == what {
			return s.order[i]
		}
	}
	return ""
}

func (s *secrets) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.values))
	for v, what := range s.values {
		out[v] = what
	}
	return out
}

// tap wraps Palette's handler and records the secrets that pass through
// it: nonces, PKCE verifiers, codes, client secrets and the tokens of
// token responses.
func (s *secrets) tap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.add("Palette nonce", r.URL.Query().Get("nonce"))
		if r.Method == http.MethodPost && r.Body != nil {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			s.add("Palette nonce", form.Get("nonce"))
			s.add("Palette authorization code", form.Get("code"))
			s.add("Palette PKCE verifier", form.Get("code_verifier"))
			s.add("Palette client secret", form.Get("client_secret"))
			s.add("Palette refresh token", form.Get("refresh_token"))
		}
		if _, secret, ok := r.BasicAuth(); ok {
			if unescaped, err := url.QueryUnescape(secret); err == nil {
				secret = unescaped
			}
			s.add("Palette client secret", secret)
		}
		rec := &tapWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil {
			s.add("Palette authorization code", loc.Query().Get("code"))
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			IDToken      string `json:"id_token"`
		}
		if json.Unmarshal(rec.body.Bytes(), &tok) == nil {
			s.addToken("Palette", tok.AccessToken, tok.RefreshToken, tok.IDToken)
		}
	})
}

// tapWriter keeps a copy of the body it writes.
type tapWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *tapWriter) Write(b []byte) (int, error) {
	if w.body.Len() < 1<<20 {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// leaks returns, by log message, what secrets the log records hold, in
// any of the encodings a logger may apply.
func (s *secrets) leaks(log string) map[string][]string {
	type form struct{ what, text string }
	var forms []form
	for value, what := range s.all() {
		for _, enc := range encodings(value) {
			forms = append(forms, form{what, enc})
		}
	}
	out := make(map[string][]string)
	for _, line := range strings.Split(log, "\n") {
		for _, f := range forms {
			if strings.Contains(line, f.text) {
				msg := logMessage(line)
				if !slices.Contains(out[msg], f.what) {
					out[msg] = append(out[msg], f.what)
					sort.Strings(out[msg])
				}
			}
		}
	}
	return out
}

// encodings returns how a value can appear in a log: as is, URL-escaped,
// JSON-escaped, and base64-encoded (as slog's JSON handler writes []byte)
// at any of the three alignments, in the standard and URL alphabets. A
// base64 form is the part that does not depend on the bytes around the
// value.
func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v)}
	if quoted, err := json.Marshal(v); err == nil {
		out = append(out, string(quoted[1:len(quoted)-1]))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			b := enc.EncodeToString(append(make([]byte, pad), v...))
			start := 0
			if pad > 0 {
				start = 4 // the first quantum mixes in the bytes before
			}
			end := len(b) - 4 // the last quantum may mix in the bytes after
			if end-start >= minSecretLen {
				out = append(out, b[start:end])
			}
		}
	}
	return out
}

var textMsgRE = regexp.MustCompile(`\bmsg=("(?:[^"\\]|\\.)*"|\S+)`)

// logMessage returns the message of a text or JSON log record.
func logMessage(line string) string {
	var rec struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg != "" {
		return rec.Msg
	}
	if m := textMsgRE.FindStringSubmatch(line); m != nil {
		var unquoted string
		if json.Unmarshal([]byte(m[1]), &unquoted) == nil {
			return unquoted
		}
		return m[1]
	}
	return line
}
