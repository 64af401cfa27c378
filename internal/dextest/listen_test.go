package dextest_test

import (
	"errors"
	"net"
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

func TestFreeAddr(t *testing.T) {
	l, err := net.Listen("tcp", dextest.FreeAddr(t))
	if err != nil {
		t.Fatalf("the address is not free: %v", err)
	}
	_ = l.Close()
}

// A start that fails because the port was taken runs again on another
// port, at most three times; any other failure is returned at once.
func TestStartOnFreeAddr(t *testing.T) {
	inUse := []byte("listen tcp: bind: address already in use\n")
	errStart := errors.New("exited")
	for _, tc := range []struct {
		name     string
		failures int    // how many starts fail
		log      []byte // what a failed start logged
		runs     int
		err      error
	}{
		{"at once", 0, nil, 1, nil},
		{"after the port was taken twice", 2, inUse, 3, nil},
		{"the port taken every time", 5, inUse, 3, errStart},
		{"another failure", 5, []byte("bad configuration\n"), 1, errStart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			err := dextest.StartOnFreeAddr(t, func(addr string) ([]byte, error) {
				addrs = append(addrs, addr)
				if len(addrs) <= tc.failures {
					return tc.log, errStart
				}
				return nil, nil
			})
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if len(addrs) != tc.runs {
				t.Errorf("start ran %d times, want %d", len(addrs), tc.runs)
			}
			for _, a := range addrs {
				if _, _, err := net.SplitHostPort(a); err != nil {
					t.Errorf("start got %q: %v", a, err)
				}
			}
		})
	}
}
