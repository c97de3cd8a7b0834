package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// operatorCommands runs `ga4-outbox report` and `status` with the sidecars'
// environment (their least-privilege role): both must succeed and print
// JSON; their output joins the files the secret scan reads.
func (s *scenario) operatorCommands(ctx context.Context) []string {
	var files []string
	for _, c := range []struct {
		name string
		args []string
	}{
		{"report.json", []string{"report", "--window", "24h", "--format", "json"}},
		{"status.json", []string{"status", "--format", "json"}},
	} {
		path := filepath.Join(s.workDir, c.name)
		files = append(files, path)
		cmd := exec.CommandContext(ctx, s.o.Binary, c.args...)
		cmd.Env, cmd.Dir = s.env(""), s.workDir
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(path, out, 0o644)
		switch {
		case err != nil:
			s.addErr(fmt.Errorf("ga4-outbox %s as the sidecar role: %v: %s", c.args[0], err, clip(string(out))))
		case !json.Valid(out):
			s.addErr(fmt.Errorf("ga4-outbox %s --format json printed no JSON: %s", c.args[0], clip(string(out))))
		default:
			s.rep.OperatorCommands = append(s.rep.OperatorCommands, c.args[0])
			if c.args[0] == "report" {
				s.rep.ReportBuckets = reportBuckets(out)
			}
		}
	}
	return files
}

// reportBuckets sums the attribution report's conversions per bucket over
// all currencies.
func reportBuckets(out []byte) map[string]int {
	var rep struct {
		Summary []struct {
			Buckets []struct {
				Bucket      string `json:"bucket"`
				Conversions int    `json:"conversions"`
			} `json:"buckets"`
		} `json:"summary"`
	}
	if json.Unmarshal(out, &rep) != nil {
		return nil
	}
	sum := map[string]int{}
	for _, s := range rep.Summary {
		for _, b := range s.Buckets {
			if b.Conversions != 0 {
				sum[b.Bucket] += b.Conversions
			}
		}
	}
	return sum
}
