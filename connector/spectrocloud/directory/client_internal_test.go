package directory

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Retry-After is honoured up to maxRetryAfter: a day is a minute, and
// what cannot be read is no wait.
func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		" 7 ":                           7 * time.Second,
		"86400":                         maxRetryAfter,
		"-5":                            0,
		"tomorrow":                      0,
		"Mon, 01 Jan 2001 00:00:00 GMT": 0, // in the past
	} {
		assert.Equal(t, want, parseRetryAfter(v), "%q", v)
	}
	inAnHour := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	assert.Equal(t, maxRetryAfter, parseRetryAfter(inAnHour), "an HTTP date an hour ahead")
}
