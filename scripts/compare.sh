#!/usr/bin/env bash
# Drains ROWS rows with the shipped binary and runs a general job queue
# (River, bench/jobqueue) on the same work, alternated, PAIRS times, and
# prints each pair's rates and their ratio. The machine's speed drifts
# between runs and days, so the ratio of runs minutes apart is the figure
# to compare (docs/PERFORMANCE.md). Needs TEST_DATABASE_URL (the Makefile
# sets it for a local PostgreSQL). Run nothing else meanwhile.
#
# MODE=loopback (the default): plaintext HTTP/1.1 on loopback (H2C=1: the
# drain speaks HTTP/2 without TLS, ga4.cleartext_http2), ROWS defaults to
# 100,000, River runs its default workers.
# MODE=net (or NET=1): the emulator stands in for Google's endpoint, tens
# of ms away over TLS with HTTP/2: --tls and --latency ${LATENCY:-40ms};
# ROWS defaults to 20,000; River runs ${WORKERS:-200} workers; the drain
# runs its default config. Each pair also prints the TCP connections each
# side used (that carried requests), dialled, and held open at most, from
# the emulator's /emulator/stats.
set -euo pipefail
pairs=${1:-3}
mode=${MODE:-loopback}
[ "${NET:-}" = 1 ] && mode=net
case $mode in
  loopback) rows=${ROWS:-100000} ;;
  net) rows=${ROWS:-20000} latency=${LATENCY:-40ms} workers=${WORKERS:-200} ;;
  *) echo "compare.sh: MODE must be loopback or net, got $mode" >&2; exit 2 ;;
esac
: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL (an admin database URL)}"
dir=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/ga4-outbox" ./cmd/ga4-outbox
go test -c -o "$dir/delivery.test" ./internal/delivery
(cd bench/jobqueue && go build -o "$dir/jobqueue" .)
port=$(( 20000 + RANDOM % 20000 ))
scheme=http emu_flags=()
if [ "$mode" = net ]; then
  scheme=https emu_flags=(--tls --cert-out "$dir/emulator.pem" --latency "$latency")
fi
url="$scheme://127.0.0.1:$port"
GA4_OUTBOX_CONFIG=/dev/null "$dir/ga4-outbox" emulator --addr "127.0.0.1:$port" --max-recorded 0 \
  "${emu_flags[@]}" >/dev/null 2>&1 &
emu=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# metric NAME: the value before unit NAME on a Go benchmark result line.
metric() { awk -v m="$1" '/^Benchmark/ {for (i = 1; i < NF; i++) if ($(i+1) == m) print $i}'; }

# stat KEY: KEY's number in the emulator's /emulator/stats JSON on stdin.
stat() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p"; }

# emulator PATH [curl args]: River's emulator's API, over one connection
# closed after the call (so that the counters see River's alone, plus the
# one /emulator/stats call).
emulator() {
  local path=$1; shift
  curl -sf --cacert "$dir/emulator.pem" "$@" "$url$path"
}

drain_bench() {
  (cd internal/delivery && GA4_OUTBOX_BENCH_ROWS=$rows "$@" "$dir/delivery.test" -test.run '^$' \
    -test.bench BenchmarkDrainProcess -test.benchtime=1x)
}

loopback_pair() {
  local drain river
  drain=$(drain_bench env GA4_OUTBOX_BENCH_H2C="${H2C:-}" | metric events/s)
  river=$("$dir/jobqueue" -db "$TEST_DATABASE_URL" -emulator "$url" -jobs "$rows" |
    sed -n 's/.*jobs\/s=\([0-9]*\).*/\1/p')
  awk -v i="$1" -v d="$drain" -v r="$river" \
    'BEGIN { printf "pair %d: drain %.0f events/s, River %d jobs/s, ratio %.2f\n", i, d, r, d / r }'
}

net_pair() {
  local out drain river st
  out=$(drain_bench env GA4_OUTBOX_BENCH_TLS=1 GA4_OUTBOX_BENCH_LATENCY="$latency")
  drain=$(metric events/s <<<"$out")
  emulator /emulator/reset -X POST >/dev/null
  river=$(SSL_CERT_FILE="$dir/emulator.pem" "$dir/jobqueue" -db "$TEST_DATABASE_URL" -emulator "$url" \
    -jobs "$rows" -workers "$workers" | sed -n 's/.*jobs\/s=\([0-9]*\).*/\1/p')
  st=$(emulator /emulator/stats)
  awk -v i="$1" -v d="$drain" -v r="$river" \
    -v dc="$(metric tcp-conns <<<"$out")" -v dd="$(metric tcp-conns-dialled <<<"$out")" \
    -v dm="$(metric tcp-conns-max-open <<<"$out")" -v dh="$(metric http2-requests <<<"$out")" \
    -v dr="$(metric requests <<<"$out")" \
    -v rc="$(stat mp_connections <<<"$st")" -v rd="$(( $(stat connections <<<"$st") - 1 ))" \
    -v rm="$(stat max_open_mp_connections <<<"$st")" -v rh="$(stat http2_requests <<<"$st")" \
    -v rr="$(stat requests <<<"$st")" 'BEGIN {
      printf "pair %d: drain %.0f events/s, River %d jobs/s, ratio %.2f\n", i, d, r, d / r
      printf "  drain: %d TCP connections used (%d dialled, %d open at most), %d%% of requests over HTTP/2\n", dc, dd, dm, 100 * dh / dr
      printf "  River: %d TCP connections used (%d dialled, %d open at most), %d%% of requests over HTTP/2\n", rc, rd, rm, 100 * rh / rr
    }'
}

[ "$mode" = net ] && echo "network mode: TLS, HTTP/2 by ALPN, $latency latency, $rows rows, River at $workers workers"
for i in $(seq "$pairs"); do
  "${mode}_pair" "$i"
done
