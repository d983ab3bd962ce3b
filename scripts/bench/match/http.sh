#!/usr/bin/env bash
# Lookups per second of `hashctl match serve` over HTTP, measured with wrk
# on the same machine: GET /v1/lookup with PDQ values (radius 31) and
# with md5 values, half of each hits and half misses. Beside each figure:
# the load average, and the service's own CPU seconds per 1,000 lookups
# (utime+stime from /proc, before and after the wrk run), which is robust
# to other work on the machine.
#
#   scripts/bench/match/http.sh [PDQ_ENTRIES [MD5_ENTRIES]]
#
# DATA=DIR keeps the mirror and query files in DIR and reuses them on the
# next run (making a 10M mirror takes a while); WRK_SECONDS (default 15),
# WRK_THREADS (2) and WRK_CONNS (32) set the wrk run; HASHCTL=BIN runs that
# binary instead of building one. Runs at 10M go under
# `flock /work/wt/heavy.lock` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-1000000}
MD5=${2:-1000000}
SECS=${WRK_SECONDS:-15}
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNS:-32}
if [ -z "${DATA:-}" ]; then
	DATA=$(mktemp -d /tmp/matchhttp.XXXXXX)
	trap 'rm -rf "$DATA"' EXIT
fi
mkdir -p "$DATA"
# HASHCTL=BIN measures that binary instead (e.g. an older build, A/B).
if [ -n "${HASHCTL:-}" ]; then
	rm -f "$DATA/hashctl" # a previous run's process may still be exiting
	cp "$HASHCTL" "$DATA/hashctl"
else
	go build -o "$DATA/hashctl" ./cmd/hashctl
fi
if [ ! -d "$DATA/mirror" ]; then
	go run ./scripts/bench/match/mkmirror -n "$N" -md5 "$MD5" -out "$DATA"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
start=$(date +%s.%N)
"$DATA/hashctl" match serve --dir "$DATA/mirror" --addr "127.0.0.1:$port" 2>"$DATA/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -fs "$url/healthz" >/dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || { cat "$DATA/serve.log"; exit 1; }
	sleep 0.2
done
echo "load_seconds=$(echo "$(date +%s.%N) - $start" | bc)"
echo "rss_mb=$(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 ))"
echo "entries=$(curl -fs "$url/metrics" | awk '/^hashctl_match_index_entries/ {print $2}')"

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
for algo in pdq md5; do
	curl -fs "$url/v1/lookup?algo=$algo&value=$(head -1 "$DATA/$algo.txt")" >/dev/null # warm
	before=$(cpu)
	echo "uptime: $(uptime)"
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s scripts/bench/match/lookup.lua "$url" -- "$DATA/$algo.txt" "$algo")
	after=$(cpu)
	echo "$out"
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	echo "${algo}_requests_per_second=$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
	echo "${algo}_cpu_seconds_per_1000=$(echo "scale=4; ($after - $before) / $hz * 1000 / $reqs" | bc)"
done
curl -fs "$url/metrics" | grep -E '^hashctl_match_(lookups|matches)_total'
