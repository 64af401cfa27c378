package spectrocloud

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dexidp/dex/pkg/httpclient"
)

// maxResponseBytes caps every response body read from Palette.
const maxResponseBytes = 1 << 20

// errResponseTooLarge is returned when a response body from Palette exceeds
// maxResponseBytes.
var errResponseTooLarge = fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)

// newHTTPClient builds the one client a connector uses for Palette: trust from
// rootCAs and insecureSkipVerify, an overall timeout per request, no
// redirects followed, and every response body capped at maxResponseBytes.
func newHTTPClient(rootCAs []string, insecureSkipVerify bool, timeout time.Duration) (*http.Client, error) {
	base, err := httpclient.NewHTTPClient(rootCAs, insecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: %w", err)
	}
	return &http.Client{
		Transport: limitTransport{next: base.Transport, max: maxResponseBytes},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// limitTransport wraps response bodies so that reading past max fails.
type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, errResponseTooLarge
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly max bytes from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// readBody reads a whole (already size-limited) response body.
func readBody(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, errResponseTooLarge) {
			return nil, errResponseTooLarge
		}
		return nil, fmt.Errorf("read response: %w", err)
	}
	return body, nil
}
