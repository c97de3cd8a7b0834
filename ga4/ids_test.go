package ga4_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

func TestParseSessionID(t *testing.T) {
	t.Parallel()
	good := map[string]int64{
		"1747132561":  1747132561,
		" 1747132561": 1747132561,
		"GS1.1.1673933110.12.0.1673933110.60.0.0":      1673933110,
		"GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0": 1747132561,
	}
	for in, want := range good {
		got, err := ga4.ParseSessionID(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	bad := map[string]string{
		"":                 "empty",
		"1747132561000":    "milliseconds",
		"1747132561000000": "microseconds",
		"174713256":        "10 digits",
		"1500000000":       "before 2020",
		"-1747132561":      "not a number",
		"17471325.1":       "not a number",
		"GS2.1.o1$g0":      "no s<session_id>",
	}
	for in, want := range bad {
		_, err := ga4.ParseSessionID(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestNormalizeClientID(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"1197596843.1673515099":        "1197596843.1673515099",
		" 123.456 ":                    "123.456",
		"GA1.1.1197596843.1673515099":  "1197596843.1673515099",
		"GA1.2.1197596843.1673515099":  "1197596843.1673515099",
		"GA12.1.1197596843.1673515099": "1197596843.1673515099",
	}
	for in, want := range good {
		got, err := ga4.NormalizeClientID(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	bad := map[string]string{
		"":                                     "empty",
		"7c9e6679-7425-40de-944b-e07fc1f90ae7": "UUID",
		"jane@example.com":                     "email",
		"123":                                  "two positive integers",
		"0.456":                                "two positive integers",
		"123.-4":                               "two positive integers",
		"1.2.3":                                "two positive integers",
		"GA1.1.abc.123":                        "positive integers",
		"GA1.1.123":                            "GA<version>",
		"GAx.1.1.2":                            "GA<version>",
	}
	for in, want := range bad {
		_, err := ga4.NormalizeClientID(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestSessionCookieName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "_ga_ABC123XYZ", ga4.SessionCookieName("G-ABC123XYZ"))
}

func TestParseSessionCookie(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, value string
		want        ga4.SessionCookie
	}{
		{"GS1Full", "GS1.1.1673933110.12.1.1673933200.60.0.0",
			ga4.SessionCookie{Format: "GS1", SessionID: 1673933110, SessionNumber: 12, Engaged: true, LastHit: time.Unix(1673933200, 0).UTC()}},
		{"GS1Short", "GS1.1.1690013078.2", ga4.SessionCookie{Format: "GS1", SessionID: 1690013078, SessionNumber: 2}},
		{"GS2", "GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0",
			ga4.SessionCookie{Format: "GS2", SessionID: 1747132561, SessionNumber: 1, LastHit: time.Unix(1747132655, 0).UTC()}},
		{"GS2AnyOrderUnknownKeys", "GS2.1.t1747132655$dR2YvLwKSS1j$g1$o7$s1747132561$",
			ga4.SessionCookie{Format: "GS2", SessionID: 1747132561, SessionNumber: 7, Engaged: true, LastHit: time.Unix(1747132655, 0).UTC()}},
		{"GS2URLEncoded", "GS2.1.s1747132561%24o1%24g0%24t1747132655",
			ga4.SessionCookie{Format: "GS2", SessionID: 1747132561, SessionNumber: 1, LastHit: time.Unix(1747132655, 0).UTC()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ga4.ParseSessionCookie(tc.value)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	for _, bad := range []string{"", "GS3.1.x", "GS1.1", "GS1.2.1234567890123456.ab", "GS1.1.1673933110.x",
		"GS1.1.1673933110.1.0.99", "GS2.1.", "GS2.x.s1747132561", "GS2.1.s17471$o1", "GS2.1.s1747132561$ox", "GS2.1.s1747132561$t12"} {
		_, err := ga4.ParseSessionCookie(bad)
		require.Error(t, err, bad)
	}
}
