# syntax=docker/dockerfile:1
# ga4-outbox: a static binary on distroless, running as a non-root user.
#
#   docker build -t ga4-outbox --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run --rm -e DATABASE_URL -e GA4_MEASUREMENT_ID -e GA4_API_SECRET \
#     -v $PWD/config.yaml:/etc/ga4-outbox/config.yaml:ro ga4-outbox
#
# See docs/DEPLOYMENT.md.

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# The commit for `ga4-outbox version`: .git stays out of the context, so Go
# cannot stamp it itself.
ARG COMMIT=
# Static (no cgo), reproducible paths, the version stamped in; timetzdata
# embeds the zone database so CRON_TZ= schedules work on any base image.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/ga4-outbox ./cmd/ga4-outbox \
 && mkdir -p /out/state/reports

# distroless/static: CA certificates (HTTPS to google-analytics.com), no
# shell, no package manager; the nonroot user is uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ga4-outbox /ga4-outbox
# The sample configuration as a default; mount your own over it (ConfigMap,
# bind mount). Secrets never go in it: GA4_API_SECRET or ga4.api_secret_file.
COPY config.yaml /etc/ga4-outbox/config.yaml
# Nightly report files land here; mount a volume to keep them.
COPY --from=build --chown=65532:65532 /out/state /var/lib/ga4-outbox
ENV GA4_OUTBOX_CONFIG=/etc/ga4-outbox/config.yaml \
    GA4_OUTBOX_REPORT_DIR=/var/lib/ga4-outbox/reports
WORKDIR /var/lib/ga4-outbox
USER 65532:65532
# /metrics, /healthz, /readyz. The server binds 127.0.0.1:9464 unless
# GA4_OUTBOX_METRICS_ADDR says otherwise (e.g. 0.0.0.0:9464 for probes).
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/ga4-outbox"]
CMD ["run"]
