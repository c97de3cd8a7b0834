package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; else
// the module version from the build info (a `go install ...@v1.2.3`).
var version = "dev"

// commit and modified name the VCS commit when the build info has none: Go
// stamps vcs.revision only in a plain git checkout (not in a git worktree,
// nor with -buildvcs=false), so `make build` also sets them with
// -ldflags "-X main.commit=... -X main.modified=true".
var commit, modified string

func runVersion(_ context.Context, e *env) error {
	fs, _ := newFlags(e, "version", "\n\nPrints the version, the VCS commit it was built from and the Go version.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(e.stdout, versionLine(version, info))
	return nil
}

// versionLine renders "ga4-outbox v1.2.3 (commit 0123456789ab, modified,
// 2026-03-14T10:00:00Z, go1.26.1)" from the -ldflags values and the build
// info (nil when the binary has none).
func versionLine(ldVersion string, info *debug.BuildInfo) string {
	v := ldVersion
	if info == nil {
		info = &debug.BuildInfo{}
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	rev, dirty, when := commit, modified, ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev, dirty = s.Value, "false"
		case "vcs.modified":
			dirty = s.Value
		case "vcs.time":
			when = s.Value
		}
	}
	parts := []string{"commit unknown"}
	if rev != "" {
		parts[0] = "commit " + rev[:min(12, len(rev))]
	}
	if dirty == "true" {
		parts = append(parts, "modified")
	}
	if when != "" {
		parts = append(parts, when)
	}
	if info.GoVersion != "" {
		parts = append(parts, info.GoVersion)
	}
	return fmt.Sprintf("ga4-outbox %s (%s)", v, strings.Join(parts, ", "))
}
