// Package deploy holds the deployment files of ga4-outbox: the Kubernetes
// example (kubernetes/), the systemd unit (systemd/) and the least-privilege
// SQL (sql/, package sqlrole). It has no Go code; its tests read the files
// and check that they agree with the binary: the config keys exist, the
// probes hit the metrics port the sidecar listens on, secrets come from
// Secrets and environment files, and the Dockerfile runs `run` as non-root.
// docs/DEPLOYMENT.md shows each file in use.
package deploy
