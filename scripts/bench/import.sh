#!/usr/bin/env bash
# Bulk-import benchmark (issue: node foundation).
#
# Generates N synthetic entries (md5/sha256/pdq mix), starts a real node,
# imports them with `hashctl hashes import`, and reports wall time,
# entries/s and the peak RSS of server and client; then writes the same
# entries straight into a bbolt file with a sorted batched loop (the
# storage floor) and prints the ratio. Finally measures point reads of
# single entries under load with wrk (apt-get install wrk).
#
#   scripts/bench/import.sh [N]        (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/hashhub" ./cmd/hashhub
go build -o "$work/hashctl" ./cmd/hashctl
go build -o "$work/gen" ./scripts/bench/gen
go build -o "$work/floor" ./scripts/bench/floor

echo "== generating $N entries"
"$work/gen" -n "$N" -o "$work/hashes.ndjson"
ls -l "$work/hashes.ndjson" | awk '{printf "file: %.1f MB\n", $5/1e6}'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/hashhub" init --data "$work/data" --node-id bench --jurisdiction NL >/dev/null
"$work/hashhub" serve --data "$work/data" --addr "127.0.0.1:$port" 2>"$work/server.log" &
srv=$!
export HASHCTL_SERVER="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$HASHCTL_SERVER/readyz" >/dev/null && break; sleep 0.1; done

admin=(--credentials "$work/data/admin.json")
org=$("$work/hashctl" "${admin[@]}" --json orgs create --name "Bench Hotline" --kind hotline --jurisdiction NL | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$work/hashctl" "${admin[@]}" --json users create --org "$org" --name "Bench Analyst" >"$work/analyst.json"
export HASHCTL_CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$work/analyst.json")
export HASHCTL_CLIENT_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$work/analyst.json")

echo "== import through hashctl"
# Sample the server's anonymous (heap) and file-backed (bbolt mmap) RSS.
( while kill -0 $srv 2>/dev/null; do
    awk '/RssAnon|RssFile/ {printf "%s %s ", $1, $2} END {print ""}' /proc/$srv/status
    sleep 0.2
  done ) >"$work/rss.log" 2>/dev/null &
sampler=$!
start=$(date +%s.%N)
/usr/bin/time -f "client_peak_rss_kb=%M" -o "$work/client.time" \
  "$work/hashctl" --json hashes import "$work/hashes.ndjson" >"$work/import.json"
end=$(date +%s.%N)
server_rss=$(awk '/VmHWM/ {print $2}' /proc/$srv/status)
kill $sampler 2>/dev/null || true
awk '{ if ($2>a) a=$2; if ($4>f) f=$4 } END { printf "server_peak_rss_anon_mb=%.0f server_peak_rss_file_mb=%.0f\n", a/1024, f/1024 }' "$work/rss.log"
python3 - "$work/import.json" "$start" "$end" "$server_rss" "$work/client.time" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
client = open(sys.argv[5]).read().strip().split("=")[1]
print(f"accepted={res['accepted']} rejected={res['rejected']} batches={res['batches']}")
print(f"import_seconds={wall:.3f} import_rate={res['accepted']/wall:.0f}/s")
print(f"server_peak_rss_mb={int(sys.argv[4])/1024:.0f} client_peak_rss_mb={int(client)/1024:.0f}")
open(sys.argv[1] + ".wall", "w").write(f"{wall}")
PY
ls -l "$work/data/hashhub.db" | awk '{printf "store file: %.0f MB\n", $5/1e6}'

echo "== storage floor (sorted batched bbolt puts of the same entries)"
"$work/floor" -in "$work/hashes.ndjson" -dir "$work" | tee "$work/floor.txt"
echo "== best case: all entries sorted first, then written in key order"
"$work/floor" -global -in "$work/hashes.ndjson" -dir "$work" | tee "$work/floor_global.txt"
python3 - "$work/import.json.wall" "$work/floor.txt" "$work/floor_global.txt" <<'PY'
import sys
wall = float(open(sys.argv[1]).read())
floor = float(open(sys.argv[2]).read().split("_seconds=")[1].split()[0])
best = float(open(sys.argv[3]).read().split("_seconds=")[1].split()[0])
print(f"ratio_import_to_floor={wall/floor:.2f} ratio_import_to_global_sorted_floor={wall/best:.2f}")
PY

echo "== point reads under load (wrk, 2 threads, 32 connections, then 1 thread, 4 connections)"
token=$(curl -fs -d grant_type=client_credentials -u "$HASHCTL_CLIENT_ID:$HASHCTL_CLIENT_SECRET" "$HASHCTL_SERVER/v1/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# 10,000 random paths from the imported file.
python3 - "$work/hashes.ndjson" "$work/paths.lua" <<'PY'
import json, random, sys
lines = open(sys.argv[1]).read().splitlines()
random.seed(7)
paths = ['/v1/hashes/%s/%s' % (r["algo"], r["value"]) for r in (json.loads(l) for l in random.sample(lines, 10000))]
with open(sys.argv[2], "w") as f:
    f.write("paths = {" + ",".join('"%s"' % p for p in paths) + "}\n")
    f.write('request = function() return wrk.format("GET", paths[math.random(#paths)]) end\n')
    f.write('done = function(summary, latency, requests)\n'
            '  io.write(string.format("reads_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d\\n",'
            ' summary.requests/(summary.duration/1e6), latency:percentile(50)/1000, latency:percentile(90)/1000,'
            ' latency:percentile(99)/1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))\n'
            'end\n')
PY
wrk -t2 -c32 -d${WRK_SECONDS:-30}s -s "$work/paths.lua" -H "Authorization: Bearer $token" "$HASHCTL_SERVER" | tail -1
wrk -t1 -c4 -d${WRK_SECONDS:-30}s -s "$work/paths.lua" -H "Authorization: Bearer $token" "$HASHCTL_SERVER" | tail -1
