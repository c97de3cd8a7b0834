package main

import (
	"fmt"
	"time"
)

// parseSettle reads --settle: a Go duration, not negative; "" is the
// config's (0 returned, the caller keeps outcomes.settle), "0" looks up
// orders of any age (-1 for outcomes.Options).
func parseSettle(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--settle %q: must be a duration of 0 or more, e.g. 24h", s)
	}
	return noneIfZero(d), nil
}

// noneIfZero maps the config's and the flag's 0 (no settle age) to
// outcomes.Options' negative Settle; Options' 0 is its default, 24h.
func noneIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
