package s3test

import (
	"os/exec"
	"syscall"
)

// setPdeathsig has the kernel kill weed when the test binary dies
// without calling Stop (a panic, a timeout, a kill).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
