//go:build unix && !linux

package pgcluster

import "syscall"

// setParentDeathSignal is a no-op where the kernel has no parent-death
// signal; Stop and the next Start's sweep clean up instead.
func setParentDeathSignal(*syscall.SysProcAttr) {}
