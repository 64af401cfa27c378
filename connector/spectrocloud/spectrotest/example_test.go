package spectrotest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// A complete authorization code flow against an emulated tenant.
func Example() {
	srv := spectrotest.NewServer()
	defer srv.Close()

	tenant := srv.AddTenant("5f7c0a1b2c3d4e5f6a7b8c9d")
	tenant.AddClient(spectrotest.Client{
		ID:           "dex",
		Secret:       "dex-secret",
		RedirectURIs: []string{"https://dex.example.com/callback"},
	})
	tenant.AddUser(spectrotest.User{
		Email:      "jane@example.com",
		GivenName:  "Jane",
		FamilyName: "Doe",
		Groups:     []string{"platform"},
	})
	tenant.SetAutoLogin("jane@example.com")

	// The login URL a client would build.
	authURL := tenant.AuthURL() + "?" + url.Values{
		"response_type": {"code"},
		"client_id":     {"dex"},
		"redirect_uri":  {"https://dex.example.com/callback"},
		"scope":         {"openid profile email"},
		"state":         {"xyz"},
	}.Encode()
	callback, err := tenant.Authorize(context.Background(), authURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("state:", callback.Query().Get("state"))

	// The client redeems the code.
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {callback.Query().Get("code")},
		"redirect_uri": {"https://dex.example.com/callback"},
	}
	req, _ := http.NewRequest(http.MethodPost, tenant.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("dex", "dex-secret")
	res, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var tokens map[string]any
	if err := json.NewDecoder(res.Body).Decode(&tokens); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", res.StatusCode)
	fmt.Println("has id_token:", tokens["id_token"] != nil)

	// Palette does not support the refresh_token grant.
	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}}
	req, _ = http.NewRequest(http.MethodPost, tenant.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("dex", "dex-secret")
	res, err = srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	fmt.Println("refresh status:", res.StatusCode)

	// Output:
	// state: xyz
	// status: 200
	// has id_token: true
	// refresh status: 400
}

// Attack tokens for a verifier's tests.
func ExampleTenant_MintIDToken() {
	console := spectrotest.NewConsole("https://console.example.com")
	tenant := console.AddTenant("acme")
	claims := tenant.Claims(spectrotest.User{Sub: "u1", Email: "jane@example.com"}, "dex", "")

	for _, tok := range []string{
		tenant.MintIDToken(claims, spectrotest.WithAlg("none")),
		tenant.MintIDToken(claims, spectrotest.WithHS256PublicKeyConfusion()),
		tenant.MintIDToken(claims, spectrotest.WithKeyID("unknown")),
		tenant.MintIDToken(claims, spectrotest.WithForeignKey()),
	} {
		fmt.Println(strings.Count(tok, "."))
	}
	// Output:
	// 2
	// 2
	// 2
	// 2
}
