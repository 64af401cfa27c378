package spectrotest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"
)

// Fault makes one of a tenant's endpoints misbehave. The zero Fault changes
// nothing. Fields combine:
//
//   - Delay waits before answering (any answer, faulty or normal);
//   - OversizeBytes answers the normal response body, if it is a JSON object,
//     grown with a "padding" member to exactly OversizeBytes bytes (or just a
//     {"padding":"..."} object otherwise), streamed in chunks without
//     Content-Length; Body is then ignored;
//   - Body (when non-nil, even empty) replaces the body: HTML, truncated JSON,
//     nothing at all ([]byte{});
//   - Status replaces the status code: of the Body or oversize answer (200 when
//     0), or of the normal answer when neither Body nor OversizeBytes is set;
//   - ContentType replaces the Content-Type header of whatever is answered
//     (default for Body: none set, left to sniffing).
//
// A normal answer produced under a fault has its usual side effects (for
// example, a token request still consumes its code).
type Fault struct {
	// Status is the response status; 0 keeps the normal one (200 for Body and
	// OversizeBytes answers).
	Status int
	// Body replaces the response body when non-nil.
	Body []byte
	// ContentType replaces the Content-Type header when non-empty.
	ContentType string
	// OversizeBytes, when positive, streams a JSON body of this many bytes.
	OversizeBytes int
	// Delay is how long to wait before answering. The wait ends early, with no
	// answer, when the client gives up (the request's context ends) or the
	// Server closes.
	Delay time.Duration
}

// SetFault makes the endpoint misbehave as f says for every following request,
// until ClearFault or ClearFaults.
func (t *Tenant) SetFault(ep Endpoint, f Fault) {
	f.Body = slices.Clone(f.Body)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults[ep] = f
}

// ClearFault makes the endpoint behave normally again.
func (t *Tenant) ClearFault(ep Endpoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.faults, ep)
}

// ClearFaults makes all endpoints behave normally again.
func (t *Tenant) ClearFaults() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.faults)
}

// Requests returns how many requests the endpoint received since the tenant
// was created or ResetRequests, faulty answers and rejected requests included.
func (t *Tenant) Requests(ep Endpoint) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests[ep]
}

// ResetRequests sets all request counters to zero.
func (t *Tenant) ResetRequests() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.requests)
}

// serveFault answers a request to an endpoint with a fault.
func (t *Tenant) serveFault(f Fault, normal http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-t.console.stop:
			return
		}
	}
	switch {
	case f.OversizeBytes > 0:
		serveOversize(f, normal, w, r)
	case f.Body != nil:
		if f.ContentType != "" {
			w.Header().Set("Content-Type", f.ContentType)
		}
		w.WriteHeader(statusOr(f.Status, http.StatusOK))
		_, _ = w.Write(f.Body)
	case f.Status != 0 || f.ContentType != "":
		normal(&overrideWriter{ResponseWriter: w, status: f.Status, contentType: f.ContentType}, r)
	default:
		normal(w, r)
	}
}

// oversizeChunk is how much padding is written at a time.
const oversizeChunk = 32 << 10

// serveOversize streams the normal JSON answer grown with padding to exactly
// f.OversizeBytes bytes.
func serveOversize(f Fault, normal http.HandlerFunc, w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	normal(rec, r)
	head, tail := []byte(`{"padding":"`), []byte(`"}`)
	if body := bytes.TrimSpace(rec.Body.Bytes()); len(body) >= 2 && body[0] == '{' && body[len(body)-1] == '}' {
		head = body[:len(body)-1]
		if len(bytes.TrimSpace(head)) > 1 { // not an empty object
			head = append(slices.Clip(head), ',')
		}
		head = append(slices.Clip(head), []byte(`"padding":"`)...)
	}
	for name, values := range rec.Header() {
		if name != "Content-Length" {
			w.Header()[name] = values
		}
	}
	if f.ContentType != "" {
		w.Header().Set("Content-Type", f.ContentType)
	} else if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(statusOr(f.Status, rec.Code))

	total := f.OversizeBytes
	padding := total - len(head) - len(tail)
	if padding < 0 { // too small to hold the whole structure: cut it
		_, _ = w.Write(append(head, tail...)[:total])
		return
	}
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{'x'}, min(padding, oversizeChunk))
	for padding > 0 {
		if r.Context().Err() != nil {
			return
		}
		n := min(padding, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		padding -= n
	}
	_, _ = w.Write(tail)
}

func statusOr(status, fallback int) int {
	if status != 0 {
		return status
	}
	return fallback
}

// overrideWriter replaces the status and Content-Type of a normal answer.
type overrideWriter struct {
	http.ResponseWriter
	status      int
	contentType string
	wroteHeader bool
}

func (o *overrideWriter) WriteHeader(status int) {
	if o.wroteHeader {
		return
	}
	o.wroteHeader = true
	if o.contentType != "" {
		o.Header().Set("Content-Type", o.contentType)
	}
	o.ResponseWriter.WriteHeader(statusOr(o.status, status))
}

func (o *overrideWriter) Write(b []byte) (int, error) {
	if !o.wroteHeader {
		o.WriteHeader(http.StatusOK)
	}
	return o.ResponseWriter.Write(b)
}
