//go:build !linux

package kubetest

import "os/exec"

// killWithParent does nothing where the kernel cannot kill a child with its
// parent: a test binary killed on timeout leaves kube-apiserver running.
func killWithParent(*exec.Cmd) {}
