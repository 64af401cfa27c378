package signincheck

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// directoryRead is a read of the connector's directory, started while the
// user signs in.
type directoryRead struct {
	done     chan struct{}
	cancel   context.CancelFunc
	settings probe.DirectorySettings
	report   *probe.DirectoryRead
	err      error
}

// readDirectory starts reading the connector's directory, so that the
// sign-in is decided as serve decides it; nil without a directory block.
// Without a read, a connector with a directory refuses, as serve does
// before its first read.
func readDirectory(ctx context.Context, conn probe.Connector) *directoryRead {
	settings := conn.Directory()
	if settings == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	d := &directoryRead{done: make(chan struct{}), cancel: cancel, settings: *settings}
	go func() {
		defer close(d.done)
		d.report, d.err = conn.ReadDirectory(ctx)
	}()
	return d
}

// wait waits for the read to end; nothing to wait for without a directory.
func (d *directoryRead) wait() {
	if d != nil {
		<-d.done
	}
}

// stop ends the read, if it still runs, and waits for it.
func (d *directoryRead) stop() {
	if d != nil {
		d.cancel()
		<-d.done
	}
}

// writeDirectory prints what the directory said about the signed-in user:
// whether it was found, and by which match.
func writeDirectory(w io.Writer, d *directoryRead, m *probe.DirectoryMatch) {
	if d == nil {
		return
	}
	s := d.settings
	fmt.Fprintln(w, "Palette's directory")
	field(w, "API", s.APIURL, "")
	field(w, "settings", fmt.Sprintf("match %s (uid: claim %s); groups from %s; read every %s; when not read for %s: %s",
		strings.Join(s.Match, ", then "), s.UIDClaim, s.Groups, s.SyncInterval, s.MaxStaleness, s.WhenStale), "")
	if d.err != nil {
		field(w, "read", "FAILED: "+d.err.Error(), "")
		return
	}
	st := d.report.Stats
	field(w, "read", fmt.Sprintf("%d users (%d active, %d disabled, %d deleted), %d teams; %d requests (%d answered 429) in %s",
		st.Users, st.Active, st.Disabled, st.Deleted, st.Teams, st.Requests, st.RateLimited, st.Duration.Round(time.Millisecond)), "")
	switch {
	case m == nil:
		field(w, "user", "not checked: the sign-in ended before the directory was asked", "")
	case m.TokenOnly:
		field(w, "user", "not checked: the copy is stale and whenStale is tokenOnly", "")
	case !m.Found:
		field(w, "user", "NOT FOUND by "+strings.Join(s.Match, " or "), "")
	default:
		status := "active"
		switch {
		case m.Deleted:
			status = "deleted"
		case !m.Active:
			status = "disabled"
		}
		field(w, "user", fmt.Sprintf("found by %s: UID %s, %s, %s", m.Match, m.UID, m.Email, status), "")
		if m.Match == "email" && slices.Contains(s.Match, "uid") {
			field(w, "what it means", fmt.Sprintf("the token's %s is not the user's UID in the directory: Palette's %s claim is not metadata.uid", s.UIDClaim, s.UIDClaim), "")
		}
		field(w, "teams now", listOrNone(m.Teams), "")
	}
}
