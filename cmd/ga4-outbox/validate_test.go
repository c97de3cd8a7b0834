package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const validBody = `{"client_id":"1197596843.1673515099","events":[{"name":"purchase","params":{
	"session_id":1747132561,"engagement_time_msec":1,"transaction_id":"ORD-1","value":30.03,"currency":"EUR",
	"items":[{"item_id":"SKU_1","price":10.01,"quantity":3}]}}]}`

const badBody = `{"client_id":"GA1.1.1197596843.1673515099","events":[{"name":"_badEventName","params":{"value":"30.03","currency":"EUR"}}]}`

func TestValidateCommand(t *testing.T) {
	t.Parallel()

	t.Run("ValidFromStdin", func(t *testing.T) {
		t.Parallel()
		r := runCmdInput(t, nil, validBody, "validate", "-")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "valid: no problems found")
	})

	t.Run("ProblemsFromFile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "body.json")
		require.NoError(t, os.WriteFile(path, []byte(badBody), 0o600))
		r := runCmd(t, nil, "validate", path)
		require.Equal(t, 1, r.code, r.stderr)
		require.Regexp(t, `VALUE_INVALID\s+client_id\s+client_id \[GA1.1.1197596843.1673515099\] is a whole _ga cookie value`, r.stdout)
		require.Regexp(t, `NAME_INVALID\s+events\s+Event at index: \[0\] has invalid name \[_badEventName\]`, r.stdout)
		require.Regexp(t, `VALUE_INVALID\s+events\[0\].params.value\s+Parameter \[value\] must be a JSON number`, r.stdout)
		require.Contains(t, r.stdout, "3 problem(s)")
		require.Empty(t, r.stderr)
	})

	// Ids as integrations send them (docs/IDS.md): each problem names the id
	// it was recovered from and the plain id to send.
	t.Run("RecoveredIDsExplained", func(t *testing.T) {
		t.Parallel()
		body := `{"client_id":"GA1.1.GA1.2.202830711.1689950339","events":[{"name":"sign_up",
			"params":{"session_id":"s1748934661$o208$g1$t1748935291$j60$l0$h0","engagement_time_msec":1}}]}`
		r := runCmdInput(t, nil, body, "validate", "-")
		require.Equal(t, 1, r.code, r.stderr)
		require.Regexp(t, `VALUE_INVALID\s+client_id\s+client_id \[GA1.1.GA1.2.202830711.1689950339\] is a whole _ga cookie value; send \[202830711.1689950339\]`, r.stdout)
		require.Regexp(t, `VALUE_INVALID\s+events\[0\].params.session_id\s+session_id \[s1748934661\$o208.*\] is a fragment of a GS2 _ga_<ID> cookie.*send its session start \[1748934661\]`, r.stdout)
		require.Contains(t, r.stdout, "2 problem(s)")
	})

	t.Run("NotJSON", func(t *testing.T) {
		t.Parallel()
		r := runCmdInput(t, nil, "client_id=1", "validate", "-")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "not a JSON object")
	})

	t.Run("MissingFile", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, nil, "validate", filepath.Join(t.TempDir(), "absent.json"))
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "absent.json")
	})

	t.Run("NoArgument", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, nil, "validate")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "exactly one FILE")
	})

	t.Run("RemoteAgainstEmulator", func(t *testing.T) {
		t.Parallel()
		emu := ga4test.Start(t, nil)
		environ := map[string]string{"GA4_ENDPOINT": emu.URL, "GA4_API_SECRET": "s3cr3t-value"}
		r := runCmdInput(t, environ, badBody, "validate", "--remote", "-")
		require.Equal(t, 1, r.code, r.stderr)
		require.Contains(t, r.stdout, "validated by "+emu.URL+"/debug/mp/collect")
		require.Contains(t, r.stdout, "NAME_INVALID")
		require.Equal(t, 1, emu.Stats().DebugRequests)
		require.NotContains(t, r.stdout+r.stderr, "s3cr3t-value")

		r = runCmdInput(t, environ, validBody, "validate", "--remote", "-")
		require.Equal(t, 0, r.code, r.stderr)
		require.Zero(t, emu.Stats().Accepted, "nothing reaches /mp/collect")
	})

	t.Run("RemoteWithoutNetwork", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		environ := map[string]string{"GA4_ENDPOINT": "http://" + addr, "GA4_API_SECRET": "s3cr3t-value"}
		r := runCmdInput(t, environ, validBody, "validate", "--remote", "-")
		require.Equal(t, 3, r.code)
		require.Contains(t, r.stderr, "cannot reach the validation server at http://"+addr+"/debug/mp/collect (no network?)")
		require.NotContains(t, r.stdout+r.stderr, "s3cr3t-value")
	})
}
