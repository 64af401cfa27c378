package spectrocloud

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// NewFactory returns the factory of configurations that a server puts in
// Dex's connector registry (server.ConnectorsConfig) for the spectrocloud
// type: the connectors opened from its configurations record their
// measurements in metrics registered on reg, and nothing when reg is nil.
// A Config made or decoded any other way records nothing.
//
// Register the factory once per process: the metrics are registered on reg
// once, and every connector the process opens records in them.
func NewFactory(reg prometheus.Registerer) (func() *Config, error) {
	var m *metricSet
	if reg != nil {
		var err error
		if m, err = newMetricSet(reg); err != nil {
			return nil, fmt.Errorf("spectrocloud: register metrics: %w", err)
		}
	}
	return func() *Config { return &Config{metrics: m} }, nil
}
