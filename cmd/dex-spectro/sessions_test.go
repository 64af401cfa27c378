package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// sessions without a way to name the user is a usage error (exit status 2).
func TestSessionsUsage(t *testing.T) {
	_, _, status := runBinary(t, "sessions", "list", "--grpc-addr", "127.0.0.1:1")
	assert.Equal(t, 2, status)
	stdout, _, status := runBinary(t, "sessions", "--help")
	assert.Equal(t, 0, status)
	assert.Contains(t, stdout, "revoke")
}
