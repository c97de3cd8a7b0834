//go:build unix

package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// UnprivilegedUser is the user initdb and postgres run as when the caller
// is root: PostgreSQL refuses to run as root.
const UnprivilegedUser = "nobody"

// credential is who the cluster's programs run as.
type credential = syscall.Credential

// runAs returns the credential the cluster's programs run with: nil (the
// caller's own) unless the caller is root, then UnprivilegedUser's.
func runAs() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(UnprivilegedUser)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and user %s is unknown: run as another user: %w", UnprivilegedUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", UnprivilegedUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// handOver gives dir to the user cred names (a no-op when cred is nil).
func handOver(dir string, cred *credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("hand %s to user %s: %w", dir, UnprivilegedUser, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s: user %s may not enter this folder (mode %v): choose a temporary folder open to all users", p, UnprivilegedUser, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// procAttr runs a program as cred in a process group of its own, so that a
// Ctrl-C in the terminal reaches the caller, which stops the cluster in
// order, and the group can be killed as one.
func procAttr(cred *credential) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	setParentDeathSignal(a)
	return a
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// immediateStop asks the postmaster for an immediate shutdown (SIGQUIT, as
// `pg_ctl stop -m immediate` does).
func immediateStop(p *os.Process) { _ = p.Signal(syscall.SIGQUIT) }

// killGroup kills the process group led by pid: the postmaster and every
// backend it forked.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
