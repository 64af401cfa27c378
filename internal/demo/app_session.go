package demo

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"
)

// sessionCookie names the demo app's session cookie.
const sessionCookie = "dex_spectro_demo_session"

// Bounds of the in-memory session store.
const (
	sessionLifetime = 12 * time.Hour
	maxSessions     = 1000
)

// session is what the demo app keeps about one browser.
type session struct {
	id      string
	created time.Time

	// The pending sign-in: state, nonce and PKCE verifier of the
	// authorization request, cleared once the callback arrives.
	state, nonce, verifier string

	// signedIn holds the tokens once signed in.
	signedIn *signIn

	// notice and problem are shown once, on the next page.
	notice, problem string
}

// signIn is a signed-in user's tokens from Dex.
type signIn struct {
	idToken      string
	refreshToken string
	claims       map[string]any // decoded, verified ID token claims
	expiry       time.Time      // of the ID token
	// previousExpiry is the expiry of the ID token before the last refresh.
	previousExpiry time.Time
	refreshes      int
	// ended is set once Dex refused to refresh: the user must sign in again.
	ended bool
}

// sessionStore keeps sessions in memory, by ID. Sessions are values: get
// returns a copy and put stores one, so handlers never share a session.
type sessionStore struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]session
}

func newSessionStore(now func() time.Time) *sessionStore {
	return &sessionStore{now: now, sessions: make(map[string]session)}
}

// get returns the session of the request's cookie.
func (s *sessionStore) get(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	return sess, ok
}

// getOrCreate returns the request's session, or a new one whose cookie it
// sets on w.
func (s *sessionStore) getOrCreate(w http.ResponseWriter, r *http.Request) session {
	if sess, ok := s.get(r); ok {
		return sess
	}
	sess := session{id: rand.Text(), created: s.now()}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    sess.id,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return sess
}

// put stores sess, dropping expired sessions and, beyond maxSessions, the
// oldest ones.
func (s *sessionStore) put(sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sess.id] = sess
	now := s.now()
	var oldest string
	for id, other := range s.sessions {
		if now.Sub(other.created) > sessionLifetime {
			delete(s.sessions, id)
			continue
		}
		if oldest == "" || other.created.Before(s.sessions[oldest].created) {
			oldest = id
		}
	}
	if len(s.sessions) > maxSessions {
		delete(s.sessions, oldest)
	}
}

// delete ends the request's session and clears its cookie.
func (s *sessionStore) delete(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
