//go:build !unix

package pgcluster

import (
	"errors"
	"os"
	"syscall"
)

type credential struct{}

var errUnsupported = errors.New("a throwaway PostgreSQL cluster is supported on Unix systems only")

func runAs() (*credential, error)               { return nil, errUnsupported }
func handOver(string, *credential) error        { return errUnsupported }
func procAttr(*credential) *syscall.SysProcAttr { return nil }
func alive(int) bool                            { return false }
func immediateStop(p *os.Process)               { _ = p.Kill() }
func killGroup(int)                             {}
