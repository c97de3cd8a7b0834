// Package deploy holds the deployment files of ga4-outbox: the Kubernetes
// example (kubernetes/), the Docker Compose stack (compose/), the systemd
// unit (systemd/), the least-privilege SQL (sql/, package sqlrole), the
// Prometheus alert rules (prometheus/) and the Grafana dashboard
// (grafana/). It has no Go code; its tests read the files and check that
// they agree with the binary: the config keys and environment variables
// exist, the probes hit paths the metrics server serves on the port the
// image exposes, images, args and users match the Dockerfile, secrets come
// from Secrets and environment files, and the alert rules and dashboard
// panels read only metrics the sidecar registers (prometheus/rulecheck, a
// module of its own, parses both with Prometheus's parsers). No container
// runs in them. docs/DEPLOYMENT.md shows each file in use.
package deploy
