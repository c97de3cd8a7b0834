package printable_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/printable"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"HTTP 503":            "HTTP 503",
		`client_id "a \"b\""`: `client_id "a \"b\""`,
		"\x1b[31mred\x1b[0m":  `\x1b[31mred\x1b[0m`,
		"a\nb\r\tc\x00\x7f":   `a\nb\r\tc\x00\x7f`,
		"\x1b]0;title\x07":    `\x1b]0;title\a`,
		"\u009b2J csi":        `\u009b2J csi`,
		"abc\u202edcb":        `abc\u202edcb`,
		"bad \xff byte":       `bad \xff byte`,
		"zoë ✓ 日本":            "zoë ✓ 日本",
		"line\u2028sep":       `line\u2028sep`,
	} {
		require.Equal(t, want, printable.Escape(in), "%q", in)
	}
}
