package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// EnvBinDir names the variable that points at a folder holding initdb and
// postgres, ahead of every other place FindBinDir looks.
const EnvBinDir = "GA4_OUTBOX_PG_BINDIR"

// ErrNoBinaries says that no PostgreSQL server binaries were found. The
// error FindBinDir returns wraps it and names the command that installs them.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found")

// searchGlobs are the folders PostgreSQL packages install their server
// binaries into, tried after PATH and pg_config.
var searchGlobs = []string{
	"/usr/lib/postgresql/*/bin",                               // Debian, Ubuntu
	"/usr/pgsql-*/bin",                                        // PGDG RPMs
	"/opt/homebrew/opt/postgresql@*/bin",                      // Homebrew, Apple silicon
	"/usr/local/opt/postgresql@*/bin",                         // Homebrew, Intel
	"/opt/homebrew/opt/postgresql/bin",                        // Homebrew, unversioned
	"/usr/local/opt/postgresql/bin",                           //
	"/Applications/Postgres.app/Contents/Versions/*/bin",      // Postgres.app
	"/Applications/Postgres.app/Contents/Versions/latest/bin", //
	"/usr/local/pgsql/bin",                                    // built from source
}

// finder holds what FindBinDir consults, so tests can replace each part.
type finder struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
	pgConfig func() (string, error) // pg_config --bindir
	globs    []string
}

// FindBinDir returns a folder holding initdb and postgres: $GA4_OUTBOX_PG_BINDIR,
// else the folder of initdb on PATH, else `pg_config --bindir`, else the
// newest of the usual install folders. getenv may be nil (os.Getenv).
func FindBinDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	f := finder{getenv: getenv, lookPath: exec.LookPath, pgConfig: pgConfigBinDir, globs: searchGlobs}
	return f.find()
}

func (f finder) find() (string, error) {
	if d := f.getenv(EnvBinDir); d != "" {
		if !hasServer(d) {
			return "", fmt.Errorf("%s=%s: no initdb and postgres there", EnvBinDir, d)
		}
		return d, nil
	}
	if p, err := f.lookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasServer(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if hasServer(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	if d, err := f.pgConfig(); err == nil && hasServer(d) {
		return d, nil
	}
	var found []string
	for _, g := range f.globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if hasServer(m) && !slices.Contains(found, m) {
				found = append(found, m)
			}
		}
	}
	if len(found) == 0 {
		return "", noBinariesError(InstallHint())
	}
	slices.SortStableFunc(found, func(a, b string) int { return majorVersion(b) - majorVersion(a) })
	return found[0], nil
}

// hasServer reports whether dir holds initdb and postgres.
func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func pgConfigBinDir() (string, error) {
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

var versionInPath = regexp.MustCompile(`(\d+)(?:\.\d+)?(?:/|$)`)

// majorVersion is the last version number in an install folder's path
// (/usr/lib/postgresql/16/bin: 16), 0 when it has none.
func majorVersion(dir string) int {
	m := versionInPath.FindAllStringSubmatch(dir, -1)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// InstallHint returns the one command that installs the PostgreSQL server
// on this system: apt-get on Debian and Ubuntu, dnf on Fedora and its
// relatives, Homebrew on macOS; "" when the system is not recognised.
func InstallHint() string {
	osRelease, _ := os.ReadFile("/etc/os-release")
	return installHint(runtime.GOOS, string(osRelease))
}

func installHint(goos, osRelease string) string {
	if goos == "darwin" {
		return "brew install postgresql@16"
	}
	ids := " "
	for _, line := range strings.Split(osRelease, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && (k == "ID" || k == "ID_LIKE") {
			ids += strings.Trim(v, `"'`) + " "
		}
	}
	switch {
	case containsWord(ids, "debian", "ubuntu"):
		return "sudo apt-get install postgresql"
	case containsWord(ids, "fedora", "rhel", "centos"):
		return "sudo dnf install postgresql-server"
	case containsWord(ids, "alpine"):
		return "sudo apk add postgresql"
	case containsWord(ids, "arch"):
		return "sudo pacman -S postgresql"
	}
	return ""
}

// noBinariesError wraps ErrNoBinaries with the command that installs them.
func noBinariesError(hint string) error {
	if hint == "" {
		return fmt.Errorf("%w: install the PostgreSQL server package of your system (or set %s)", ErrNoBinaries, EnvBinDir)
	}
	return fmt.Errorf("%w: install them with `%s` (or set %s)", ErrNoBinaries, hint, EnvBinDir)
}

func containsWord(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, " "+w+" ") {
			return true
		}
	}
	return false
}
