#!/usr/bin/env bash
# Many pullers of one release, served from a published tree by nginx and
# by the node itself, in one run (issue: releases served from any static
# host).
#
# scripts/bench/pull (with -pulls=false -publish DIR -serve) serves a real
# node on 127.0.0.1 with N synthetic entries, versions 1 and 2 (10,000
# changes apart), and publishes both to DIR as `hashhub publish --private
# --to DIR` does. nginx (Debian's, run as the current user) serves DIR as
# in TestPullFromPublishedTree. wrk (Debian's) then runs CONNS connections
# (default 1,000), each fetching in turn what a puller fetches to follow
# the list from version 1 to 2 (puller.lua: the latest pointer, version
# 2's manifest, its signature, the delta): WRK_SECONDS against nginx, then
# the same against the node. The node's CPU (utime + stime from
# /proc/PID/stat) is read around each run, so the nginx run shows what
# the node spends while nginx serves its releases; nginx's CPU likewise.
#
#   scripts/bench/publish/pullers.sh [N]      (default 1000000)
#
# Env: CONNS (default 1000), THREADS (wrk threads, default 2),
# WRK_SECONDS (default 30), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-1000000}
CONNS=${CONNS:-1000}
THREADS=${THREADS:-2}
WRK_SECONDS=${WRK_SECONDS:-30}
work=$(mktemp -d)
setup_pid= ngx_pid=
cleanup() {
  [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
  exec 9>&- 2>/dev/null || true # closes the setup's stdin: it stops
  [ -n "$setup_pid" ] && wait "$setup_pid" 2>/dev/null
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

go build -o "$work/pullbench" ./scripts/bench/pull
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(nginx -v 2>&1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

echo "== set up: $N entries, versions 1 and 2 (10,000 changes), published to a tree"
mkfifo "$work/stdin"
TMPDIR=$work "$work/pullbench" -n "$N" -pulls=false -publish "$work/tree" -serve <"$work/stdin" >"$work/setup.out" 2>&1 &
setup_pid=$!
exec 9>"$work/stdin" # held open until cleanup
until grep -q '^serving=1' "$work/setup.out"; do
  if ! kill -0 "$setup_pid" 2>/dev/null; then cat "$work/setup.out"; exit 1; fi
  sleep 1
done
cat "$work/setup.out"
val() { sed -n "s/^$1=//p" "$work/setup.out"; }
url=$(val url) cred=$(val credentials) tree=$(val tree) node_pid=$(val pid)

# nginx as in TestPullFromPublishedTree, with a worker per core and
# room for the connections; its workers run as the current user (the
# directive is ignored, with a warning, when that is not root).
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
user $(id -un) $(id -gn);
worker_processes auto;
worker_rlimit_nofile 8192;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  types { application/json json; application/x-ndjson ndjson; text/plain sig pem; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $tree;
    location ~ (/latest\.json|/checkpoint|/keys\.json)\$ { add_header Cache-Control "public, max-age=60"; }
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
ngx_pid=$!
static="http://127.0.0.1:$port"
until curl -fsS -o /dev/null "$static/lists/bench/latest.json" 2>/dev/null; do
  kill -0 "$ngx_pid" || { cat "$work/nginx/logs/error.log"; exit 1; }
  sleep 0.2
done

token=$(curl -fsS -u "$(jq -r .client_id "$cred"):$(jq -r .client_secret "$cred")" \
  -d grant_type=client_credentials "$url/v1/oauth/token" | jq -r .access_token)

echo "== what one puller fetches (bytes)"
for p in lists/bench/latest.json lists/bench/2/manifest.json lists/bench/2/manifest.sig lists/bench/2/delta.ndjson; do
  printf '  static %-30s %s\n' "$p" "$(curl -fsS -o /dev/null -w '%{http_code} %{size_download}' "$static/$p")"
done
for p in 'releases/latest' 'releases/2/manifest.json' 'releases/2/manifest.sig' 'delta?from=1&to=2'; do
  printf '  node   %-30s %s\n' "$p" "$(curl -fsS -o /dev/null -w '%{http_code} %{size_download}' -H "Authorization: Bearer $token" "$url/v1/lists/bench/$p")"
done
cmp <(curl -fsS "$static/lists/bench/2/delta.ndjson") <(curl -fsS -H "Authorization: Bearer $token" "$url/v1/lists/bench/delta?from=1&to=2") &&
  echo "  the two deltas are the same bytes"

# cpu PID: utime + stime in clock ticks (of every thread; nginx: the
# workers are its children, so the master's and each worker's).
ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
hz=$(getconf CLK_TCK)
ngx_pids() { echo "$ngx_pid" $(pgrep -P "$ngx_pid" || true); }
run() { # run NAME URL ARGS...: wrk, then the node's and nginx's CPU seconds over the run
  local name=$1 target=$2
  shift 2
  echo "== $name: wrk -t$THREADS -c$CONNS -d${WRK_SECONDS}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  local n0 g0 n1 g1
  n0=$(ticks "$node_pid") g0=$(ticks $(ngx_pids))
  # wrk shares the two cores: its own CPU says how much was left.
  local TIMEFORMAT="wrk CPU: %U s user + %S s system over %R s"
  time wrk -t"$THREADS" -c"$CONNS" -d"${WRK_SECONDS}s" --timeout 30s --latency -s scripts/bench/publish/puller.lua "$target" -- "$@"
  n1=$(ticks "$node_pid") g1=$(ticks $(ngx_pids))
  echo "node CPU during the $name run: $(awk -v t=$((n1 - n0)) -v hz="$hz" -v s="$WRK_SECONDS" 'BEGIN {printf "%.2f s (%.1f%% of one core)", t/hz, 100*t/hz/s}')"
  echo "nginx CPU during the $name run: $(awk -v t=$((g1 - g0)) -v hz="$hz" -v s="$WRK_SECONDS" 'BEGIN {printf "%.2f s (%.1f%% of one core)", t/hz, 100*t/hz/s}')"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}
run nginx "$static" static bench 2
run node "$url" node bench 2 "$token"
