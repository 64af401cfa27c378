package resolver

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON (and YAML) as a Go duration
// string, such as "5s" or "1m30s". An empty string means "not set". Numbers
// are rejected, so that a bare 5 is never taken for 5 nanoseconds.
type Duration time.Duration

// String returns the duration in Go's notation.
func (d Duration) String() string {
	return time.Duration(d).String()
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		shown := string(b)
		if len(shown) > 32 {
			shown = shown[:32] + "..."
		}
		return fmt.Errorf("duration %s: want a string such as \"5s\" or \"1m30s\"", shown)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a string such as \"5s\" or \"1m30s\"", s)
	}
	*d = Duration(v)
	return nil
}
