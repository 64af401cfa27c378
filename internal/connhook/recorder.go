package connhook

import (
	"context"
	"sync"
	"time"
)

// Recorder collects, for one HTTP request, what the connectors that served
// it recorded. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	end     time.Time
	hasEnd  bool
	failure error
	final   bool
}

type recorderKey struct{}

// WithRecorder returns a context whose connectors record into the returned
// Recorder. A request has one: when ctx has a Recorder already, ctx and
// that Recorder are returned.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	if r := recorderFrom(ctx); r != nil {
		return ctx, r
	}
	r := &Recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func recorderFrom(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// RecordSignInEnd records, in ctx's Recorder if it has one, that the
// upstream sign-in behind the identity being returned ends at t. Of several
// times recorded, the earliest is kept.
func RecordSignInEnd(ctx context.Context, t time.Time) {
	r := recorderFrom(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasEnd || t.Before(r.end) {
		r.end, r.hasEnd = t, true
	}
}

// RecordFailure records, in ctx's Recorder if it has one, why a sign-in,
// refresh or token exchange failed, and whether the failure is final: the
// user must sign in again (or may not sign in at all), as opposed to a
// passing fault that a retry may fix. err's message reaches users and
// clients, so it must hold no token material and no account details.
func RecordFailure(ctx context.Context, err error, final bool) {
	r := recorderFrom(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failure, r.final = err, final
}

// SignInEnd returns the earliest end recorded, and false when none was.
func (r *Recorder) SignInEnd() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.end, r.hasEnd
}

// Failure returns the failure recorded last (nil when none was) and
// whether it is final.
func (r *Recorder) Failure() (err error, final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failure, r.final
}
