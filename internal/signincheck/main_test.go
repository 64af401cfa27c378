package signincheck

import (
	"fmt"
	"os"
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

func TestMain(m *testing.M) {
	if err := connectors.Register(nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
