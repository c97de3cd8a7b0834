# ga4-outbox: run `make` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN      := bin/ga4-outbox
GO       ?= go
PKGS     := ./...
# A newcomer's `make test` runs every test: when TEST_DATABASE_URL is unset and
# a PostgreSQL answers on 127.0.0.1:5432, use it.
LOCAL_PG := postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TEST_DATABASE_URL ?= $(shell (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && echo '$(LOCAL_PG)')
export TEST_DATABASE_URL

.PHONY: help build test bench compare fuzz migrate run demo report clean

help: ## show this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-10s %s\n", $$1, $$2}'

# The commit for `ga4-outbox --version` when Go stamps none (git worktrees,
# -buildvcs=false).
VCS_LDFLAGS := -X main.commit=$(shell git rev-parse HEAD 2>/dev/null) \
  $(if $(shell git status --porcelain 2>/dev/null),-X main.modified=true)

build: ## build bin/ga4-outbox
	$(GO) build -ldflags "$(VCS_LDFLAGS)" -o $(BIN) ./cmd/ga4-outbox

test: ## gofmt check, go vet, go test -race ./..., the alert rules checked by Prometheus's parser (uses TEST_DATABASE_URL or the local PostgreSQL)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags containers ./cmd/...
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	cd deploy/prometheus/rulecheck && $(GO) test -count=1 ./...

bench: ## run the benchmarks (figures go to docs/PERFORMANCE.md); the first run builds a kept 10M-row report database (~3.5 GB, a few minutes; GA4O_BENCH_10M=0 skips it)
	GA4O_BENCH_10M=$${GA4O_BENCH_10M:-1} $(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

compare: ## drain 100,000 rows and run River (bench/jobqueue) on the same work, alternated PAIRS times (default 3); prints the ratio. MODE=net (or NET=1): over TLS and HTTP/2 with LATENCY (default 40ms), 20,000 rows, River at 200 workers, TCP connections per side
	MODE=$(or $(MODE),$(if $(filter 1,$(NET)),net,loopback)) ./scripts/compare.sh $${PAIRS:-3}

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	./scripts/fuzz.sh $${FUZZTIME:-30s}

chaos: ## reliability proof: 100,000 rows, SIGKILLs, PostgreSQL restart, MP faults; exits 1 on a failed check (CHAOS_FLAGS=-h for knobs)
	$(GO) run ./internal/chaos $(CHAOS_FLAGS)

migrate: build ## apply the schema to DATABASE_URL (or config.yaml's database.url)
	$(BIN) migrate up

run: build ## run the sidecar with ./config.yaml
	$(BIN) run

demo: build ## the whole loop on a local database: enqueue, deliver to the emulator, report
	$(BIN) demo

report: build ## print the attribution report for the last 24 h
	$(BIN) report --window 24h

clean: ## remove build output
	rm -rf bin
