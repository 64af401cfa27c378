package kubetest

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill cmd's process when the test process
// dies without stopping it (a test binary killed on timeout).
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
