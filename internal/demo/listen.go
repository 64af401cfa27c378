package demo

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// host is the address everything listens on.
const host = "127.0.0.1"

// PortInUseError reports that one of the demo's ports is taken.
type PortInUseError struct {
	// Port is the port that is in use.
	Port int
	// Flag is the command-line flag that chooses another port.
	Flag string
	// Err is the error of listening.
	Err error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is in use: choose another with --%s", e.Port, e.Flag)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// listeners are the demo's bound listeners.
type listeners struct {
	dex, palette, app net.Listener
}

// listen binds every port before anything starts, so that a port in use is
// reported before any server runs. On failure nothing stays bound.
func listen(o Options) (*listeners, error) {
	var bound []net.Listener
	for _, p := range o.ports() {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p.number)))
		if err != nil {
			for _, b := range bound {
				_ = b.Close()
			}
			return nil, listenError(p, err)
		}
		bound = append(bound, l)
	}
	return &listeners{dex: bound[0], palette: bound[1], app: bound[2]}, nil
}

// listenError explains a failure to listen on p.
func listenError(p port, err error) error {
	if addrInUse(err) {
		return &PortInUseError{Port: p.number, Flag: p.flag, Err: err}
	}
	return fmt.Errorf("listen on %s:%d for %s (--%s): %w", host, p.number, p.name, p.flag, err)
}

// addrInUse reports whether err says that the address is taken.
func addrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	// Windows reports WSAEADDRINUSE, which is not syscall.EADDRINUSE.
	msg := err.Error()
	return strings.Contains(msg, "address already in use") ||
		strings.Contains(msg, "Only one usage of each socket address")
}

// close closes every listener.
func (l *listeners) close() {
	for _, x := range []net.Listener{l.dex, l.palette, l.app} {
		_ = x.Close()
	}
}

// listenerPort returns the port a listener is bound to.
func listenerPort(l net.Listener) int {
	return l.Addr().(*net.TCPAddr).Port
}
