// Package badinput runs the bad-input corpus (testdata/bad/rows.jsonl): rows
// that real integrations write, inserted raw among good rows, drained by the
// real poller against the ga4test emulator, each outcome checked.
package badinput_test
