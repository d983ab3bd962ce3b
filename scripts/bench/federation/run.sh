#!/usr/bin/env bash
# Federation benchmark (issue 4): propagation along A→B→C, catch-up of a
# new peer on an N-entry list beside the raw snapshot download, and the
# CPU and memory of a node with idle peers; with -mode stall or partition,
# time to a stalled state and convergence after a partition heals (health.go).
# Every node is a separate `hashhub serve` process with the default sync
# settings; see main.go.
#
#   scripts/bench/federation/run.sh [flags]    e.g. -mode catchup -n 1000000
#
# Env: HASHHUB_BIN uses that hashhub binary instead of building one from
# the working tree.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${HASHHUB_BIN:-}
if [ -z "$bin" ]; then
  go build -o "$work/hashhub" ./cmd/hashhub
  bin=$work/hashhub
fi
go build -o "$work/fedbench" ./scripts/bench/federation

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)  kernel: $(uname -r)  $(go version | cut -d' ' -f3)"
if [ -n "${HASHHUB_BIN:-}" ]; then echo "binary: $bin"; else echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ":!scripts/bench/federation" || echo " (working tree differs)")"; fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/fedbench" -hashhub "$bin" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
