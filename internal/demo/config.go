package demo

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

//go:embed templates
var templateFS embed.FS

// endpoints are the base URLs of the demo's three servers.
type endpoints struct {
	dexAddr    string // host:port of Dex
	issuer     string // Dex's issuer
	consoleURL string // the emulated Palette console
	appURL     string // the demo app
}

func newEndpoints(dexPort, palettePort, appPort int) endpoints {
	dexAddr := net.JoinHostPort(host, strconv.Itoa(dexPort))
	return endpoints{
		dexAddr:    dexAddr,
		issuer:     "http://" + dexAddr + "/dex",
		consoleURL: "http://" + net.JoinHostPort(host, strconv.Itoa(palettePort)),
		appURL:     "http://" + net.JoinHostPort(host, strconv.Itoa(appPort)),
	}
}

// dexCallback is Dex's callback URL, registered at the emulated Palette.
func (e endpoints) dexCallback() string { return e.issuer + "/callback" }

// appRedirectURI is the demo app's redirect URI, registered at Dex.
func (e endpoints) appRedirectURI() string { return e.appURL + "/callback" }

// configData fills templates/config.yaml.tmpl.
type configData struct {
	Issuer, DexAddr, IDTokenLifetime                  string
	AppClientID, AppClientSecret, AppRedirectURI      string
	KubeloginClientID                                 string
	ConsoleURL, Tenant                                string
	PaletteClientID, PaletteClientSecret, DexCallback string
	AllowedGroups                                     []string
	CustomClaim, CustomGroupPrefix, CustomGroupDelim  string
}

// RenderConfig returns the Dex configuration file the demo runs Dex with,
// for the given options. Ports that are 0 appear as 0: the demo itself
// renders the file again once it has bound them.
func RenderConfig(o Options) ([]byte, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	return renderConfig(newEndpoints(o.DexPort, o.PalettePort, o.AppPort), o)
}

func renderConfig(e endpoints, o Options) ([]byte, error) {
	tmpl, err := template.New("config.yaml.tmpl").Funcs(template.FuncMap{"quote": yamlString}).
		ParseFS(templateFS, "templates/config.yaml.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse the configuration template: %w", err)
	}
	data := configData{
		Issuer:              e.issuer,
		DexAddr:             e.dexAddr,
		IDTokenLifetime:     shortDuration(o.dexIDTokenLifetime()),
		AppClientID:         appClientID,
		AppClientSecret:     appClientSecret,
		AppRedirectURI:      e.appRedirectURI(),
		KubeloginClientID:   kubeloginClientID,
		ConsoleURL:          e.consoleURL,
		Tenant:              TenantUID,
		PaletteClientID:     paletteClientID,
		PaletteClientSecret: paletteClientSecret,
		DexCallback:         e.dexCallback(),
		AllowedGroups:       allowedGroups(),
		CustomClaim:         customClaim,
		CustomGroupPrefix:   customGroupPrefix,
		CustomGroupDelim:    customGroupDelim,
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render the configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// loadConfig loads the rendered file as `dex-spectro serve --strict` does.
func loadConfig(data []byte) (*config.Config, error) {
	cfg, _, err := config.Load(data, config.Options{Strict: true})
	if err != nil {
		return nil, fmt.Errorf("load the demo's Dex configuration: %w", err)
	}
	return cfg, nil
}

// shortDuration writes d as time.ParseDuration reads it, without the zero
// units time.Duration.String adds: "1m", not "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// yamlString quotes s as a YAML double-quoted scalar (JSON strings are).
func yamlString(s string) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("quote %q: %w", s, err)
	}
	return string(b), nil
}
