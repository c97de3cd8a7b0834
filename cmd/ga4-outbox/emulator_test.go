package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
	url := regexp.MustCompile(`https?://\S+`).FindString(line)
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

	t.Run("TLSWritesTheCertificateAndSpeaksHTTP2", func(t *testing.T) {
		t.Parallel()
		certFile := filepath.Join(t.TempDir(), "emulator.pem")
		url, _ := startEmulator(t, nil, "--tls", "--cert-out", certFile)
		require.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
		client := pemClient(t, certFile)
		resp, err := client.Post(url+"/mp/collect?measurement_id=G-X1&api_secret=x", "application/json", strings.NewReader(validBody))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []int{204, 2}, []int{resp.StatusCode, resp.ProtoMajor})
		st := statsOf(t, client, url)
		require.Equal(t, 1, st["http2_requests"])
		require.Equal(t, 1, st["mp_connections"])
	})

	t.Run("HTTP1OnlyAndGoAway", func(t *testing.T) {
		t.Parallel()
		certFile := filepath.Join(t.TempDir(), "emulator.pem")
		url, _ := startEmulator(t, nil, "--tls", "--cert-out", certFile, "--http1-only", "--share-goaway", "1")
		client := pemClient(t, certFile)
		resp, err := client.Post(url+"/mp/collect?measurement_id=G-X1&api_secret=x", "application/json", strings.NewReader(validBody))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []int{204, 1}, []int{resp.StatusCode, resp.ProtoMajor})
		require.True(t, resp.Close, "the answer ends the connection")
		st := statsOf(t, client, url)
		require.Equal(t, []int{1, 1}, []int{st["http1_requests"], st["faults_goaway"]})
	})

	t.Run("BadFlags", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"emulator", "--measurement-id", "G-X1"},
			{"emulator", "--measurement-id", "G-X1", "--api-secret-env", "UNSET_VAR"},
			{"emulator", "--share-5xx", "2"},
			{"emulator", "--share-goaway", "0.6", "--share-drop", "0.6"},
			{"emulator", "--cert-out", "/tmp/never-written.pem"},
			{"emulator", "--tls", "--max-streams", "0"},
		} {
			r := runCmd(t, nil, args...)
			require.Equal(t, 2, r.code, args)
		}
	})

	t.Run("HelpHasNoSecret", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, map[string]string{"EMU_SECRET": "right-secret"}, "emulator", "-h")
		require.Equal(t, 0, r.code)
		for _, flag := range []string{"-share-drop", "-share-goaway", "-tls", "-cert-out", "-http1-only", "-max-streams", "SSL_CERT_FILE"} {
			require.Contains(t, r.stderr, flag)
		}
		require.NotContains(t, r.stderr, "right-secret")
	})
}

// pemClient returns a client that trusts the certificate in the PEM file,
// as SSL_CERT_FILE would make the default one, and asks for HTTP/2.
func pemClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// statsOf reads /emulator/stats, its counters by JSON key.
func statsOf(t *testing.T, client *http.Client, url string) map[string]int {
	t.Helper()
	resp, err := client.Get(url + "/emulator/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st map[string]int
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}
