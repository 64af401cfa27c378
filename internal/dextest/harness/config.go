package harness

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// Placeholders in configuration templates.
const (
	// IssuerPlaceholder stands for the issuer URL.
	IssuerPlaceholder = "ISSUER_URL"
	// HTTPPlaceholder stands for the address of the web listener.
	HTTPPlaceholder = "HTTP_ADDR"
)

// Render replaces the placeholders of template with issuer and httpAddr.
func Render(template, issuer, httpAddr string) string {
	return strings.NewReplacer(IssuerPlaceholder, issuer, HTTPPlaceholder, httpAddr).Replace(template)
}

// LoadTemplate renders template (Render) and loads it strictly, as
// `dex-spectro serve` loads its file; the test fails at once if the
// configuration does not load or loads with warnings.
func LoadTemplate(t testing.TB, template, issuer, httpAddr string) *config.Config {
	t.Helper()
	cfg, warnings, err := config.Load([]byte(Render(template, issuer, httpAddr)), config.Options{Strict: true})
	require.NoError(t, err, "load the configuration")
	require.Empty(t, warnings, "warnings loading the configuration")
	return cfg
}

// LoadFile loads the configuration file at path strictly, as
// `dex-spectro serve` does; the test fails at once if it does not load or
// loads with warnings.
func LoadFile(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, warnings, err := config.LoadFile(path, config.Options{Strict: true})
	require.NoError(t, err, "load %s", path)
	require.Empty(t, warnings, "warnings loading %s", path)
	return cfg
}
