#!/usr/bin/env bash
# Reports and notices benchmark (issue 5): intake of N reports over HTTP,
# outbox delivery of their notices to a local signed-webhook receiver, and
# M notices through a receiver outage of DOWN. See scripts/bench/reports.
#
#   scripts/bench/reports.sh [N] [M] [DOWN]     (default 10000 1000 60s)
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)  kernel: $(uname -r)  $(go version | cut -d' ' -f3)"
go run ./scripts/bench/reports -n "${1:-10000}" -m "${2:-1000}" -down "${3:-60s}"
