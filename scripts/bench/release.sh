#!/usr/bin/env bash
# Release benchmark (issue: signed, versioned list releases).
#
# In-process (scripts/bench/release): a fresh node, N synthetic entries
# imported with hub.Import, version 1 built, then eight rounds of 10,000
# changes (5,000 new entries, 2,500 retractions, 2,500 severity updates by
# a second analyst) each followed by a timed BuildRelease — signing and the
# log append included — with its bbolt commit share and the phase's peak
# RSS, and by hub.FoldDue, timed on its own: what the node runs in the
# background after each release, which folds the member overlay into the
# base once it holds 65,536 writes (after round 6). The summary gives the
# median build and the mean of build plus fold per round. Then
# hub.WriteDelta and hub.WriteSnapshot into io.Discard.
#
# Over HTTP, against `hashhub serve` on the same data directory: the
# 10,000-change delta (from=1&to=2, median of 21 curl runs), the snapshot's
# throughput beside `cat` of the same bytes from a file, and
# GET /v1/lists/bench/releases/latest under wrk (apt-get install wrk).
#
#   scripts/bench/release.sh [N]        (default 1000000)
#
# Env: WRK_SECONDS (default 30); PROFILE=DIR keeps CPU and heap profiles
# of each build in DIR; BENCH_FLAGS adds flags to scripts/bench/release
# (e.g. -warm); KEEP=1 keeps the work directory; DATA=DIR skips the
# in-process half and serves DIR, a data directory it made before
# (scripts/bench/release -dir DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
WRK_SECONDS=${WRK_SECONDS:-30}
work=$(mktemp -d)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

go build -o "$work/hashhub" ./cmd/hashhub
go build -o "$work/release" ./scripts/bench/release

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)  kernel: $(uname -r)  $(go version | cut -d' ' -f3)"

if [ -n "${DATA:-}" ]; then
  echo "== reuse $DATA (made by scripts/bench/release; the HTTP half only)"
  ln -s "$(cd "$DATA" && pwd)" "$work/data"
else
  echo "== build releases in-process ($N entries)"
  profile=()
  if [ -n "${PROFILE:-}" ]; then mkdir -p "$PROFILE"; profile=(-profile "$PROFILE"); fi
  start=$(date +%s)
  # shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
  "$work/release" -n "$N" -dir "$work/data" "${profile[@]}" ${BENCH_FLAGS:-}
  echo "in-process part: $(( $(date +%s) - start )) s wall"
fi
ls -lL "$work/data/hashhub.db" | awk '{printf "store file: %.0f MB\n", $5/1e6}'

echo "== serve the same data directory"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/hashhub" serve --data "$work/data" --addr "127.0.0.1:$port" 2>"$work/server.log" &
srv=$!
base="http://127.0.0.1:$port"
# Opening a large store takes seconds: bbolt rebuilds its freelist by
# reading the whole file (NoFreelistSync).
t0=$(date +%s.%N)
until curl -fs "$base/readyz" >/dev/null; do
  kill -0 "$srv" 2>/dev/null || { echo "server exited:"; cat "$work/server.log"; exit 1; }
  sleep 0.1
done
echo "server_ready_seconds=$(echo "$(date +%s.%N) - $t0" | bc)"
read -r cid secret list < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["client_id"], d["client_secret"], d["list"])' "$work/data/bench.json")
token() {
  curl -fs -d grant_type=client_credentials -u "$cid:$secret" "$base/v1/oauth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
tok=$(token)
auth=(-H "Authorization: Bearer $tok")

echo "== delta from=1 to=2 over HTTP (curl, 21 runs after 1 warm-up)"
curl -fs "${auth[@]}" -o /dev/null "$base/v1/lists/$list/delta?from=1&to=2"
for _ in $(seq 21); do
  curl -fs "${auth[@]}" -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}\n' "$base/v1/lists/$list/delta?from=1&to=2"
done >"$work/delta.txt"
python3 - "$work/delta.txt" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
ttfb = statistics.median(r[0] for r in rows) * 1000
tot = sorted(r[1] * 1000 for r in rows)
print(f"http_delta_1_2_bytes={int(rows[0][2])} median_ms={statistics.median(tot):.2f} "
      f"min_ms={tot[0]:.2f} max_ms={tot[-1]:.2f} median_ttfb_ms={ttfb:.2f}")
PY

echo "== snapshot over HTTP vs cat of the same bytes"
curl -fs "${auth[@]}" -o "$work/snapshot.ndjson" "$base/v1/lists/$list/snapshot"
size=$(stat -c %s "$work/snapshot.ndjson")
for _ in 1 2 3; do
  curl -fs "${auth[@]}" -o /dev/null -w '%{time_total}\n' "$base/v1/lists/$list/snapshot"
done >"$work/snap.txt"
for _ in 1 2 3; do
  s=$(date +%s.%N); cat "$work/snapshot.ndjson" >/dev/null; e=$(date +%s.%N)
  echo "$e - $s" | bc
done >"$work/cat.txt"
for _ in 1 2 3; do
  s=$(date +%s.%N); cat "$work/snapshot.ndjson" | cat >/dev/null; e=$(date +%s.%N)
  echo "$e - $s" | bc
done >"$work/catpipe.txt"
python3 - "$size" "$work/snap.txt" "$work/cat.txt" "$work/catpipe.txt" <<'PY'
import statistics, sys
size = int(sys.argv[1])
def rate(path):
    t = statistics.median(float(l) for l in open(path))
    return t, size / 1e6 / t
for label, path in (("http_snapshot", sys.argv[2]), ("cat_file", sys.argv[3]), ("cat_file_through_pipe", sys.argv[4])):
    t, r = rate(path)
    print(f"{label}: {size/1e6:.1f} MB in {t:.3f} s = {r:.0f} MB/s (median of 3)")
PY
rm -f "$work/snapshot.ndjson"

echo "== GET /v1/lists/$list/releases/latest under wrk (${WRK_SECONDS}s per level)"
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("req_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests/(summary.duration/1e6), latency:percentile(50)/1000, latency:percentile(90)/1000,
    latency:percentile(99)/1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
curl -fs "${auth[@]}" "$base/v1/lists/$list/releases/latest"; echo
tok=$(token) # a fresh 15-minute token for the load
for lvl in "2 32" "1 8"; do
  set -- $lvl
  printf 'wrk -t%s -c%s: ' "$1" "$2"
  wrk -t"$1" -c"$2" -d"${WRK_SECONDS}s" -s "$work/report.lua" -H "Authorization: Bearer $tok" "$base/v1/lists/$list/releases/latest" | tail -1
done
awk '/VmHWM/ {printf "server_peak_rss_mb=%.0f\n", $2/1024}' /proc/$srv/status
