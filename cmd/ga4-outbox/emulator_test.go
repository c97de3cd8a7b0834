package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// startEmulator runs the emulator command on a free port and returns its
// base URL, a stop function and the rest of its output after it stopped.
func startEmulator(t *testing.T, environ map[string]string, args ...string) (string, func() (string, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	e := &env{args: append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...), stdin: strings.NewReader(""),
		stdout: pw, stderr: &errOut, getenv: func(k string) string { return environ[k] }}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, e)
		pw.Close()
		done <- err
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	require.NoError(t, err, errOut.String())
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	require.NotEmpty(t, url, line)
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(br)
		rest <- string(b)
	}()
	stopped := false
	stop := func() (string, error) {
		stopped = true
		cancel()
		err := <-done
		return <-rest, err
	}
	t.Cleanup(func() {
		if !stopped {
			_, _ = stop()
		}
	})
	return url, stop
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()

	t.Run("RecordsAndChecksTheSecret", func(t *testing.T) {
		t.Parallel()
		url, stop := startEmulator(t, map[string]string{"EMU_SECRET": "right-secret"},
			"--measurement-id", "G-EMU1", "--api-secret-env", "EMU_SECRET")
		for _, secret := range []string{"right-secret", "wrong"} {
			resp, err := http.Post(url+"/mp/collect?measurement_id=G-EMU1&api_secret="+secret, "application/json", strings.NewReader(validBody))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 204, resp.StatusCode)
		}
		resp, err := http.Get(url + "/emulator/stats")
		require.NoError(t, err)
		var st ga4test.Stats
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		resp.Body.Close()
		require.Equal(t, ga4test.Stats{Requests: 2, Accepted: 1, Dropped: 1}, st)
		out, err := stop()
		require.NoError(t, err)
		require.Contains(t, out, "emulator stopped")
	})

	t.Run("FaultFlags", func(t *testing.T) {
		t.Parallel()
		url, _ := startEmulator(t, nil, "--share-5xx", "1")
		resp, err := http.Post(url+"/mp/collect?measurement_id=G-X1&api_secret=x", "application/json", strings.NewReader(validBody))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 500, resp.StatusCode)
	})

	t.Run("BadFlags", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"emulator", "--measurement-id", "G-X1"},
			{"emulator", "--measurement-id", "G-X1", "--api-secret-env", "UNSET_VAR"},
			{"emulator", "--share-5xx", "2"},
		} {
			r := runCmd(t, nil, args...)
			require.Equal(t, 2, r.code, args)
		}
	})

	t.Run("HelpHasNoSecret", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, map[string]string{"EMU_SECRET": "right-secret"}, "emulator", "-h")
		require.Equal(t, 0, r.code)
		require.Contains(t, r.stderr, "-share-drop")
		require.NotContains(t, r.stderr, "right-secret")
	})
}
