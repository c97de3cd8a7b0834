#!/usr/bin/env bash
# Drains 100,000 rows with the shipped binary and runs a general job queue
# (River, bench/jobqueue) on the same work, alternated, PAIRS times, and
# prints each pair's rates and their ratio. The machine's speed drifts
# between runs and days, so the ratio of runs minutes apart is the figure
# to compare (docs/PERFORMANCE.md). Needs TEST_DATABASE_URL (the Makefile
# sets it for a local PostgreSQL). Run nothing else meanwhile.
set -euo pipefail
pairs=${1:-3}
rows=${ROWS:-100000}
: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL (an admin database URL)}"
dir=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/ga4-outbox" ./cmd/ga4-outbox
go test -c -o "$dir/delivery.test" ./internal/delivery
(cd bench/jobqueue && go build -o "$dir/jobqueue" .)
port=$(( 20000 + RANDOM % 20000 ))
GA4_OUTBOX_CONFIG=/dev/null "$dir/ga4-outbox" emulator --addr "127.0.0.1:$port" --max-recorded 0 >/dev/null 2>&1 &
emu=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
for i in $(seq "$pairs"); do
  drain=$(cd internal/delivery && GA4_OUTBOX_BENCH_ROWS=$rows "$dir/delivery.test" -test.run '^$' \
    -test.bench BenchmarkDrainProcess -test.benchtime=1x | awk '/events\/s/ {for (i = 1; i < NF; i++) if ($(i+1) == "events/s") print $i}')
  river=$("$dir/jobqueue" -db "$TEST_DATABASE_URL" -emulator "http://127.0.0.1:$port" -jobs "$rows" |
    sed -n 's/.*jobs\/s=\([0-9]*\).*/\1/p')
  awk -v i="$i" -v d="$drain" -v r="$river" \
    'BEGIN { printf "pair %d: drain %.0f events/s, River %d jobs/s, ratio %.2f\n", i, d, r, d / r }'
done
