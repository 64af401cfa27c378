package spectrotest

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// pageTemplate renders the sign-in page and the error pages. It is parsed once
// and never changed.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
main { max-width: 36rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.2rem; margin-top: 0; }
ul { list-style: none; padding: 0; }
li { margin: .5rem 0; }
button { width: 100%; text-align: left; padding: .7rem 1rem; border: 1px solid #c5cad3; border-radius: 6px; background: #fafbfc; font: inherit; cursor: pointer; }
button:hover { background: #eef2ff; border-color: #5468ff; }
.note { color: #6b7280; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- if .Heading}}
<h2>{{.Heading}}</h2>
<p>{{.Message}}</p>
{{- else}}
<p>Client <code>{{.ClientID}}</code> asks you to sign in.</p>
{{- if .Users}}
<form method="post" action="{{.Action}}">
{{- range .Hidden}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<ul>
{{- range .Users}}
<li><button type="submit" name="login" value="{{.Login}}">{{.Label}}</button></li>
{{- end}}
</ul>
</form>
{{- else}}
<p>This tenant has no users.</p>
{{- end}}
{{- end}}
<p class="note">An emulator of SpectroCloud Palette's OIDC provider, for tests and demos.</p>
</main>
</body>
</html>
`))

type pageData struct {
	Title    string
	Heading  string // set for error pages
	Message  string
	ClientID string
	Action   string
	Hidden   []hiddenField
	Users    []userButton
}

type hiddenField struct{ Name, Value string }

type userButton struct{ Login, Label string }

func (t *Tenant) pageTitle() string {
	return "SpectroCloud Palette (emulator) — tenant " + t.uid
}

// renderSignIn shows the tenant's users as buttons that post the original
// authorization parameters back, plus login=<email>.
func (t *Tenant) renderSignIn(w http.ResponseWriter, r *http.Request, req *authRequest) {
	data := pageData{Title: t.pageTitle(), ClientID: req.client.ID, Action: r.URL.EscapedPath()}
	names := make([]string, 0, len(req.params))
	for name := range req.params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		data.Hidden = append(data.Hidden, hiddenField{name, req.params[name]})
	}
	for _, u := range t.Users() {
		data.Users = append(data.Users, userButton{Login: userKey(u), Label: signInLabel(u)})
	}
	renderPage(w, http.StatusOK, data)
}

// renderError shows an error page.
func (t *Tenant) renderError(w http.ResponseWriter, status int, heading, message string) {
	renderPage(w, status, pageData{Title: t.pageTitle(), Heading: heading, Message: message})
}

func renderPage(w http.ResponseWriter, status int, data pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, "render page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// signInLabel reads "Sign in as Jane Doe <jane@example.com>, teams: a, b".
func signInLabel(u User) string {
	name := strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	var label strings.Builder
	label.WriteString("Sign in as ")
	switch {
	case name != "" && u.Email != "":
		label.WriteString(name + " <" + u.Email + ">")
	case name != "":
		label.WriteString(name)
	case u.Email != "":
		label.WriteString(u.Email)
	default:
		label.WriteString(u.Sub)
	}
	if len(u.Groups) > 0 {
		label.WriteString(", teams: " + strings.Join(u.Groups, ", "))
	}
	return label.String()
}
