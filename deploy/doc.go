// Package deploy holds the deployment files of ga4-outbox: the Kubernetes
// example (kubernetes/), the systemd unit (systemd/), the least-privilege
// SQL (sql/, package sqlrole) and the Prometheus alert rules (prometheus/).
// It has no Go code; its tests read the files and check that they agree
// with the binary: the config keys exist, the probes hit the metrics port
// the sidecar listens on, secrets come from Secrets and environment files,
// the Dockerfile runs `run` as non-root, and the alert rules read only
// metrics the sidecar registers (prometheus/rulecheck, a module of its own,
// parses them with Prometheus's rule parser), and so does the Grafana
// dashboard (grafana/).
// docs/DEPLOYMENT.md shows each file in use.
package deploy
