// Package ga4test is a Measurement Protocol emulator for tests, the demo and
// the emulator subcommand. It serves /mp/collect and /debug/mp/collect,
// records what it receives and injects faults on demand (5xx, 429 with
// Retry-After, latency, connections closed after the request was read).
package ga4test
