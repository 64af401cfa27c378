package signincheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

func TestPickConnector(t *testing.T) {
	cfg := func(conns ...config.Connector) *config.Config { return &config.Config{StaticConnectors: conns} }
	mock := config.Connector{Type: "mockCallback", ID: "mock"}
	prod := config.Connector{Type: "spectrocloud", ID: "prod"}
	dev := config.Connector{Type: "spectrocloud", ID: "dev"}
	tests := []struct {
		name   string
		cfg    *config.Config
		id     string
		want   string
		errMsg string
	}{
		{"the only one", cfg(mock, prod), "", "prod", ""},
		{"by ID", cfg(prod, dev), "dev", "dev", ""},
		{"several", cfg(prod, mock, dev), "", "", "several spectrocloud connectors (dev, prod): choose one with --connector"},
		{"none", cfg(mock), "", "", "no spectrocloud connector to sign in with"},
		{"unknown ID", cfg(prod, dev), "test", "", `no spectrocloud connector with ID "test" in the configuration (spectrocloud connectors: dev, prod)`},
		{"another type", cfg(prod, mock), "mock", "", `connector "mock" is of type mockCallback`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := pickConnector(tt.cfg, tt.id)
			if tt.errMsg != "" {
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, StatusUsage, e.Status)
				assert.Contains(t, err.Error(), tt.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.ID)
		})
	}
}
