//go:build !unix

package kubetest

import "context"

// lockFile does nothing where flock(2) does not exist: concurrent builds of
// one version then both run, and the last one's binary stays.
func lockFile(context.Context, string) (func(), error) {
	return func() {}, nil
}
