package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// find names the secrets that text contains, whole or clipped: any 12
// characters of a secret's random part count (a message that shortens a
// value still leaks it).
func (s secrets) find(text string) []string {
	var found []string
	if leaks(text, s.apiSecret) {
		found = append(found, "API secret")
	}
	if leaks(text, s.dbPassword) {
		found = append(found, "database password")
	}
	return found
}

// leakWindow is how many consecutive characters of a secret make a leak.
const leakWindow = 12

func leaks(text, secret string) bool {
	if secret == "" {
		return false
	}
	if len(secret) <= leakWindow {
		return strings.Contains(text, secret)
	}
	// The generated secrets are "<label>-<hex>": look for windows of the
	// random part, where a match cannot be a coincidence.
	random := secret[strings.LastIndexByte(secret, '-')+1:]
	if len(random) < leakWindow {
		return strings.Contains(text, secret)
	}
	for i := 0; i+leakWindow <= len(random); i++ {
		if strings.Contains(text, random[i:i+leakWindow]) {
			return true
		}
	}
	return false
}

// logLine is the part of a sidecar's JSON log line the checks read.
type logLine struct {
	Msg       string `json:"msg"`
	Rows      int    `json:"rows"`
	LeaseLost int    `json:"lease_lost"`
	Addr      string `json:"addr"`
}

// scanLogs reads every sidecar log line: a line that contains a secret is a
// leak; "not marked" and lease_lost lines add to the duplicate bound; the
// metrics server's address is collected. It returns the lines read.
func scanLogs(files []string, sec secrets, b *Bound, leaks, addrs *[]string) (int, error) {
	lines := 0
	for _, path := range files {
		n, err := scanLog(path, sec, b, leaks, addrs)
		lines += n
		if err != nil {
			return lines, err
		}
	}
	return lines, nil
}

func scanLog(path string, sec secrets, b *Bound, leaks, addrs *[]string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("scan log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for ; sc.Scan(); n++ {
		text := sc.Text()
		for _, what := range sec.find(text) {
			*leaks = append(*leaks, fmt.Sprintf("%s line %d contains the %s", filepath.Base(path), n+1, what))
		}
		var l logLine
		if json.Unmarshal([]byte(text), &l) != nil {
			continue
		}
		switch {
		case strings.Contains(l.Msg, "not marked"):
			b.UnmarkedRows += l.Rows
		case l.LeaseLost > 0:
			b.LeaseLostRows += l.LeaseLost
		case l.Msg == "metrics server listening":
			*addrs = append(*addrs, l.Addr)
		}
	}
	return n, sc.Err()
}
