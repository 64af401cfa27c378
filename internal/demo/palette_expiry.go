package demo

import (
	"sync"
	"time"
)

// paletteExpiries remembers when the last Palette ID token issued to each
// user expires, by email. The demo app shows it next to Dex's token, as a
// view behind the scenes that a real relying party does not have: Dex's
// tokens do not carry the upstream expiry.
type paletteExpiries struct {
	mu      sync.Mutex
	byEmail map[string]time.Time
}

func newPaletteExpiries() *paletteExpiries {
	return &paletteExpiries{byEmail: make(map[string]time.Time)}
}

// record is the emulator's ID token hook: it reads email and exp from the
// claims of a token about to be signed and changes nothing.
func (p *paletteExpiries) record(claims map[string]any) {
	email, _ := claims["email"].(string)
	exp, ok := unixClaim(claims["exp"])
	if email == "" || !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byEmail[email] = exp
}

// expiry returns when the last Palette ID token issued to email expires.
func (p *paletteExpiries) expiry(email string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.byEmail[email]
	return t, ok
}

// unixClaim reads a NumericDate claim.
func unixClaim(v any) (time.Time, bool) {
	switch n := v.(type) {
	case int64:
		return time.Unix(n, 0), true
	case int:
		return time.Unix(int64(n), 0), true
	case float64:
		return time.Unix(int64(n), 0), true
	default:
		return time.Time{}, false
	}
}
