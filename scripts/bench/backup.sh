#!/usr/bin/env bash
# Online backup benchmark: imports N synthetic entries into a real node,
# then takes `hashhub backup` while a second import of N/4 entries runs,
# and restores the archive (which checks digests, keys, every store page
# and the audit chain). Prints the store size and the times.
#
#   scripts/bench/backup.sh [N]        (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/hashhub" ./cmd/hashhub
go build -o "$work/hashctl" ./cmd/hashctl
go build -o "$work/gen" ./scripts/bench/gen
"$work/gen" -n "$N" -o "$work/a.ndjson"
"$work/gen" -n $((N / 4)) -seed 2 -o "$work/b.ndjson"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/hashhub" serve --data "$work/data" --addr "127.0.0.1:$port" --node-id bench --jurisdiction NL >/dev/null 2>"$work/server.log" &
srv=$!
export HASHCTL_SERVER="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$HASHCTL_SERVER/readyz" >/dev/null && break; kill -0 $srv; sleep 0.1; done
admin=(--credentials "$work/data/admin.json")
org=$("$work/hashctl" "${admin[@]}" --json orgs create --name "Bench Hotline" --kind hotline --jurisdiction NL | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$work/hashctl" "${admin[@]}" --json users create --org "$org" --name "Bench Analyst" --credentials-out "$work/analyst.json" >/dev/null
an=(--credentials "$work/analyst.json")
"$work/hashctl" "${an[@]}" --json hashes import --no-progress "$work/a.ndjson" >/dev/null
ls -l "$work/data/hashhub.db" | awk '{printf "store file: %.0f MB\n", $5/1e6}'

echo "== backup while an import of $((N / 4)) entries runs"
"$work/hashctl" "${an[@]}" --json hashes import --no-progress "$work/b.ndjson" >"$work/b.json" &
imp=$!
start=$(date +%s.%N)
"$work/hashhub" backup --data "$work/data" --to "$work/backup.tar"
end=$(date +%s.%N)
wait $imp
size=$(stat -c %s "$work/backup.tar")
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'backup_seconds={s:.2f} archive_mb={int(sys.argv[3])/1e6:.0f} backup_mb_per_s={int(sys.argv[3])/1e6/s:.0f}')" "$start" "$end" "$size"

echo "== restore (checks every page and the audit chain)"
start=$(date +%s.%N)
"$work/hashhub" restore --from "$work/backup.tar" --data "$work/restored" >/dev/null
end=$(date +%s.%N)
python3 -c "import sys; print(f'restore_seconds={float(sys.argv[2])-float(sys.argv[1]):.2f}')" "$start" "$end"
"$work/hashhub" audit verify --data "$work/restored"
