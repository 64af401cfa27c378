// Command dex-spectro is Dex with a connector for SpectroCloud Palette: the
// same configuration file, endpoints, storage backends and gRPC API as
// upstream Dex, plus the `spectrocloud` connector type.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRootCommand(os.Stdout, os.Stderr).Execute()
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.As(err, &coded):
		fmt.Fprintln(os.Stderr, "dex-spectro:", err)
		os.Exit(coded.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "dex-spectro:", err)
		os.Exit(1)
	}
}
