package main

import (
	"net/url"
	"regexp"
)

var kvPassword = regexp.MustCompile(`password=('[^']*'|\S+)`)

// redactURL masks the password in a database URL or key=value string.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(s, "password=xxxxx")
}
