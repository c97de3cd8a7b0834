package pgcluster

import "syscall"

// setParentDeathSignal makes the kernel send the postmaster SIGQUIT (an
// immediate shutdown) when the process that started it dies without
// stopping it: a killed test binary leaves no server running.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGQUIT }
