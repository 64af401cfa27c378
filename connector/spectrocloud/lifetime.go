package spectrocloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SignInEnd implements connhook.Lifetime: it returns the exp of the Palette
// ID token held in connector data that this connector returned and Dex
// stored (an auth code's, an auth request's or an offline session's). It
// reads the stored token without verifying it again: the connector verified
// it before handing it to Dex, and storage is trusted. Data that is not this
// connector's is an error.
func (c *spectroConnector) SignInEnd(connectorData []byte) (time.Time, error) {
	return sessionExpiry(connectorData)
}

func sessionExpiry(connectorData []byte) (time.Time, error) {
	raw, err := decodeSession(connectorData)
	if err != nil {
		return time.Time{}, err
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errBadSession
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, errBadSession
	}
	exp, err := numericDate(claims, "exp")
	if err != nil {
		return time.Time{}, fmt.Errorf("spectrocloud: stored session: %w", err)
	}
	return exp, nil
}
