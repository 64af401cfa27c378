package check

import (
	"fmt"
	"io"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// writeDirectory prints what a read of the directory found, if there was
// one.
func writeDirectory(w io.Writer, d *probe.DirectoryRead) {
	if d == nil {
		return
	}
	st := d.Stats
	fmt.Fprintf(w, "  directory:              %s, read with the API key: %d users (%d active, %d disabled, %d deleted), %d teams\n",
		d.APIURL, st.Users, st.Active, st.Disabled, st.Deleted, st.Teams)
	fmt.Fprintf(w, "  directory read:         %d requests (%d answered 429) in %s\n", st.Requests, st.RateLimited, st.Duration.Round(time.Millisecond))
}
