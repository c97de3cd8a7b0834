package pgcluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBinDir creates dir with executable initdb and postgres files.
func fakeBinDir(t *testing.T, dir string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range []string{"initdb", "postgres"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
	}
	return dir
}

func TestFindBinDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	debian := filepath.Join(root, "usr/lib/postgresql")
	fakeBinDir(t, filepath.Join(debian, "9.6/bin"))
	fakeBinDir(t, filepath.Join(debian, "16/bin"))
	fakeBinDir(t, filepath.Join(debian, "13/bin"))
	require.NoError(t, os.MkdirAll(filepath.Join(debian, "17/bin"), 0o755)) // client only
	onPath := fakeBinDir(t, filepath.Join(root, "opt/pg/bin"))
	linkDir := filepath.Join(root, "usr/local/bin")
	require.NoError(t, os.MkdirAll(linkDir, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(onPath, "initdb"), filepath.Join(linkDir, "initdb")))

	none := func(string) (string, error) { return "", errors.New("not found") }
	base := finder{
		getenv:   func(string) string { return "" },
		lookPath: none,
		pgConfig: func() (string, error) { return "", errors.New("no pg_config") },
		globs:    []string{filepath.Join(debian, "*/bin")},
	}
	t.Run("newest of the usual folders", func(t *testing.T) {
		got, err := base.find()
		require.NoError(t, err)
		require.Equal(t, filepath.Join(debian, "16/bin"), got, "17 has no server binaries")
	})
	t.Run("initdb on PATH through a symlink", func(t *testing.T) {
		f := base
		f.lookPath = func(string) (string, error) { return filepath.Join(linkDir, "initdb"), nil }
		got, err := f.find()
		require.NoError(t, err)
		require.Equal(t, onPath, got, "the symlink's target folder holds postgres too")
	})
	t.Run("pg_config --bindir", func(t *testing.T) {
		f := base
		f.pgConfig = func() (string, error) { return filepath.Join(debian, "13/bin"), nil }
		got, err := f.find()
		require.NoError(t, err)
		require.Equal(t, filepath.Join(debian, "13/bin"), got)
	})
	t.Run("the variable wins", func(t *testing.T) {
		f := base
		f.getenv = func(k string) string { return map[string]string{EnvBinDir: onPath}[k] }
		got, err := f.find()
		require.NoError(t, err)
		require.Equal(t, onPath, got)
	})
	t.Run("a variable naming an empty folder is an error", func(t *testing.T) {
		f := base
		f.getenv = func(k string) string { return map[string]string{EnvBinDir: root}[k] }
		_, err := f.find()
		require.ErrorContains(t, err, EnvBinDir)
	})
	t.Run("nothing installed names the install command", func(t *testing.T) {
		f := base
		f.globs = []string{filepath.Join(root, "nowhere/*/bin")}
		_, err := f.find()
		require.ErrorIs(t, err, ErrNoBinaries)
		require.ErrorContains(t, err, InstallHint())
	})
}

func TestInstallHint(t *testing.T) {
	t.Parallel()
	cases := []struct{ goos, osRelease, want string }{
		{"linux", "NAME=\"Debian GNU/Linux\"\nID=debian\n", "sudo apt-get install postgresql"},
		{"linux", "ID=ubuntu\nID_LIKE=debian\n", "sudo apt-get install postgresql"},
		{"linux", "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "sudo apt-get install postgresql"},
		{"linux", "ID=fedora\n", "sudo dnf install postgresql-server"},
		{"linux", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "sudo dnf install postgresql-server"},
		{"darwin", "", "brew install postgresql@16"},
		{"linux", "ID=nixos\n", ""},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, installHint(tc.goos, tc.osRelease), "%s %q", tc.goos, tc.osRelease)
	}
	require.ErrorContains(t, noBinariesError(""), "install the PostgreSQL server package")
	require.ErrorContains(t, noBinariesError("sudo apt-get install postgresql"), "`sudo apt-get install postgresql`")
}

func TestMajorVersion(t *testing.T) {
	t.Parallel()
	require.Equal(t, 16, majorVersion("/usr/lib/postgresql/16/bin"))
	require.Equal(t, 15, majorVersion("/usr/pgsql-15/bin"))
	require.Equal(t, 17, majorVersion("/opt/homebrew/opt/postgresql@17/bin"))
	require.Equal(t, 9, majorVersion("/usr/lib/postgresql/9.6/bin"))
	require.Equal(t, 0, majorVersion("/usr/local/pgsql/bin"))
}
