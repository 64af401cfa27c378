package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// parsePages parses the demo app's page templates.
func parsePages() (*template.Template, error) {
	t, err := template.New("pages").Funcs(template.FuncMap{
		"clock":    clock,
		"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"duration": friendlyDuration,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse the demo app's pages: %w", err)
	}
	return t, nil
}

// pageView is what every page gets.
type pageView struct {
	Site            siteInfo
	Title           string
	Notice, Problem string
}

// homeView is the page of a visitor who is not signed in.
type homeView struct {
	pageView
}

// problemView is an error page.
type problemView struct {
	pageView
	Heading, Message string
}

// claimsView is the page of a signed-in user.
type claimsView struct {
	pageView
	Email, Name, PreferredUsername string
	EmailVerified                  string
	Groups                         []string
	Subject, ConnectorID, UserID   string
	Expiry, PreviousExpiry         time.Time
	ExpiresIn                      string
	Refreshes                      int
	Ended                          bool
	PaletteExpiry                  time.Time
	PaletteExpiresIn               string
	ClaimsJSON                     string
}

func (a *app) page(title, notice, problem string) pageView {
	return pageView{Site: a.site, Title: title, Notice: notice, Problem: problem}
}

func (a *app) homeView(notice, problem string) homeView {
	return homeView{pageView: a.page("Sign in", notice, problem)}
}

func (a *app) claimsView(sess session) claimsView {
	s := sess.signedIn
	v := claimsView{
		pageView:          a.page("Signed in", sess.notice, sess.problem),
		Email:             claimString(s.claims, "email"),
		Name:              claimString(s.claims, "name"),
		PreferredUsername: claimString(s.claims, "preferred_username"),
		EmailVerified:     fmt.Sprint(s.claims["email_verified"]),
		Groups:            claimStrings(s.claims, "groups"),
		Subject:           claimString(s.claims, "sub"),
		Expiry:            s.expiry,
		PreviousExpiry:    s.previousExpiry,
		ExpiresIn:         relative(s.expiry.Sub(a.now())),
		Refreshes:         s.refreshes,
		Ended:             s.ended,
	}
	if fed, ok := s.claims["federated_claims"].(map[string]any); ok {
		v.ConnectorID = claimString(fed, "connector_id")
		v.UserID = claimString(fed, "user_id")
	}
	if exp, ok := a.palette.expiry(v.Email); ok {
		v.PaletteExpiry = exp
		v.PaletteExpiresIn = relative(time.Until(exp))
	}
	if b, err := json.MarshalIndent(s.claims, "", "  "); err == nil {
		v.ClaimsJSON = string(b)
	}
	return v
}

// renderProblem shows an error page.
func (a *app) renderProblem(w http.ResponseWriter, status int, heading, message string) {
	a.render(w, status, "problem.html", problemView{
		pageView: a.page(heading, "", ""),
		Heading:  heading,
		Message:  message,
	})
}

func (a *app) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := a.pages.ExecuteTemplate(&buf, name, data); err != nil {
		a.logger.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

func claimStrings(claims map[string]any, name string) []string {
	list, _ := claims[name].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// clock formats a time of day, in the local time zone.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("15:04:05")
}

// relative says "in 1m 5s" or "3s ago".
func relative(d time.Duration) string {
	if d >= 0 {
		return "in " + friendlyDuration(d)
	}
	return friendlyDuration(-d) + " ago"
}

// friendlyDuration writes a duration in whole seconds: "1h 2m 5s", "2m", "0s".
func friendlyDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	if s > 0 {
		parts = append(parts, fmt.Sprintf("%ds", s))
	}
	return strings.Join(parts, " ")
}
