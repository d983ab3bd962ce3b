#!/usr/bin/env bash
# Measures how long `hashhub serve` takes to exit after SIGTERM while a
# peer-style long poll (wait=25 s) is open, over several runs, and how long
# a stalled request body holds a connection (the node's --body-timeout,
# here its default). Prints one line per run.
#
#   bash scripts/bench/shutdown.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/hashhub" ./cmd/hashhub
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for i in $(seq "$runs"); do
  addr="127.0.0.1:$(port)"
  "$work/hashhub" serve --data "$work/d$i" --addr "$addr" --metrics-addr "" >/dev/null 2>"$work/log$i" &
  pid=$!
  for _ in $(seq 200); do curl -sf "http://$addr/readyz" >/dev/null && break; kill -0 "$pid"; sleep 0.05; done
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$work/d$i/admin.json")
  secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$work/d$i/admin.json")
  tok=$(curl -sf -d grant_type=client_credentials -d "client_id=$id" -d "client_secret=$secret" "http://$addr/v1/oauth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"name":"shared","policy":{"min_assessments":1}}' "http://$addr/v1/lists" >/dev/null
  # A stalled body on the token endpoint: 10 of 1,000 promised bytes; how
  # long until the node answers and closes the connection.
  stalled=$(python3 - "$addr" <<'PY'
import socket, sys, time
h, p = sys.argv[1].split(":")
s = socket.create_connection((h, int(p)))
s.sendall(b"POST /v1/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type")
t = time.monotonic()
s.settimeout(120)
while s.recv(4096):
    pass
print(f"{time.monotonic() - t:.2f}")
PY
)
  curl -s -o /dev/null -H "Authorization: Bearer $tok" "http://$addr/v1/lists/shared/releases/latest?after=0&wait=25" &
  poll=$!
  sleep 0.5
  start=$(date +%s.%N)
  kill -TERM "$pid"
  wait "$pid" || true
  end=$(date +%s.%N)
  wait "$poll" || true
  printf 'run %d: exit after SIGTERM %.2f s (long poll open, wait=25 s); stalled body held its connection %s s\n' \
    "$i" "$(echo "$end - $start" | bc)" "$stalled"
done
