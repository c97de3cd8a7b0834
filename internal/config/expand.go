package config

import "strings"

// expandEnv replaces each ${NAME} in s with getenv(NAME) and each $$ with
// one $. Every other $ is kept as written, so SQL parameters ($1, $2) in
// reconcile.orders_query and a $ inside a password survive the file's
// expansion. NAME is a letter or underscore followed by letters, digits
// and underscores; anything else after "${" is left alone.
func expandEnv(s string, getenv func(string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 && isEnvName(s[i+2:i+2+end]) {
				b.WriteString(getenv(s[i+2 : i+2+end]))
				i += 2 + end
				continue
			}
		}
		b.WriteByte('$')
	}
	return b.String()
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
