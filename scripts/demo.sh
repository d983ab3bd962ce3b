#!/usr/bin/env bash
# A small hashhub federation on one machine, without Docker: two hotline
# nodes in different jurisdictions (hub-nl, hub-gb) and a platform-side
# node (hub-platform). The nodes register each other as peers and witness
# each other's transparency logs; hub-nl publishes a signed list, its two
# peers cosign its checkpoint, and a platform pulls the list into a
# verified mirror, requiring cosignatures from two witnesses in two
# jurisdictions. docker-compose.yml starts the same federation; there this
# script's second half runs against the containers (HASHHUB_DEMO_EXTERNAL).
#
#   scripts/demo.sh                   run it, print each step, stop the nodes
#   HASHHUB_DEMO_KEEP=1 scripts/demo.sh   leave the nodes running
#
# Environment: HASHHUB_DEMO_PORT (first of three ports, default 8181),
# HASHHUB_DEMO_DIR (work directory, default a new temporary one).
set -euo pipefail

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

nodes=(hub-nl hub-gb hub-platform)
declare -A jur=([hub-nl]=NL [hub-gb]=GB [hub-platform]=IE)
declare -A url creds

if [ -n "${HASHHUB_DEMO_EXTERNAL:-}" ]; then
  # docker-compose: the nodes are containers; their data volumes are
  # mounted under /federation/<node>.
  work=${HASHHUB_DEMO_DIR:-/tmp/demo}
  mkdir -p "$work"
  for n in "${nodes[@]}"; do
    url[$n]="http://$n:8080"
    creds[$n]="/federation/$n/admin.json"
  done
else
  cd "$(dirname "$0")/.."
  work=${HASHHUB_DEMO_DIR:-}
  own_work=0
  if [ -z "$work" ]; then
    work=$(mktemp -d)
    own_work=1
  fi
  port=${HASHHUB_DEMO_PORT:-8181}
  say "building hashhub and hashctl into $work/bin"
  go build -o "$work/bin/" ./cmd/hashhub ./cmd/hashctl
  export PATH="$work/bin:$PATH"
  pids=()
  stop() {
    if [ "${HASHHUB_DEMO_KEEP:-0}" = 1 ]; then
      say "nodes left running (pids ${pids[*]}); data in $work"
      return
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$own_work" = 1 ]; then rm -rf "$work"; fi
  }
  trap stop EXIT
  for n in "${nodes[@]}"; do
    say "starting $n (${jur[$n]}) on 127.0.0.1:$port"
    hashhub serve --data "$work/$n" --addr "127.0.0.1:$port" --node-id "$n" --jurisdiction "${jur[$n]}" \
      --release-interval 0 >"$work/$n.out" 2>"$work/$n.log" &
    pids+=($!)
    url[$n]="http://127.0.0.1:$port"
    creds[$n]="$work/$n/admin.json"
    port=$((port + 1))
  done
fi

for n in "${nodes[@]}"; do
  for _ in $(seq 150); do curl -sf "${url[$n]}/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "${url[$n]}/readyz" >/dev/null || { echo "$n did not start" >&2; exit 1; }
done

as() { local n=$1; shift; hashctl --server "${url[$n]}" --credentials "${creds[$n]}" "$@"; }

say "each node publishes its keys; each admin registers the other two as peers"
for n in "${nodes[@]}"; do
  curl -sf "${url[$n]}/v1/keys" >"$work/$n.keys.json"
done
for n in "${nodes[@]}"; do
  for p in "${nodes[@]}"; do
    [ "$n" = "$p" ] && continue
    run as "$n" peers add --name "Operator of $p" --jurisdiction "${jur[$p]}" --url "${url[$p]}" \
      --keys "$work/$p.keys.json" --lists verified >/dev/null
  done
  as "$n" peers list
done

say "hub-nl: a hotline, a platform and a list needing one hotline's assessment"
run as hub-nl orgs create --name "Hotline NL" --kind hotline --jurisdiction NL >/dev/null
run as hub-nl orgs create --name "Example Platform" --kind platform --jurisdiction IE >/dev/null
rm -f "$work/nl-analyst.json" "$work/platform.json"
run as hub-nl users create --org "Hotline NL" --name "Analyst NL" --credentials-out "$work/nl-analyst.json"
run as hub-nl users create --org "Example Platform" --name "Trust and Safety" --credentials-out "$work/platform.json"
run as hub-nl lists create --name verified --min-assessments 1 --reader-roles platform,peer

say "the Dutch hotline imports synthetic hashes"
cat >"$work/hashes.ndjson" <<'END'
{"algo":"md5","value":"00112233445566778899aabbccddeeff","severity":"A"}
{"algo":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709","severity":"B"}
{"algo":"pdq","value":"f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f","quality":90}
END
run hashctl --server "${url[hub-nl]}" --credentials "$work/nl-analyst.json" hashes import "$work/hashes.ndjson"

say "hub-nl publishes version 1; its peers witness its log"
run as hub-nl lists release verified
cosigned=0
for _ in $(seq 100); do
  cp=$(curl -sf "${url[hub-nl]}/v1/log/checkpoint")
  if grep -q "hashhub/hub-gb/witness" <<<"$cp" && grep -q "hashhub/hub-platform/witness" <<<"$cp"; then
    cosigned=1
    break
  fi
  sleep 0.2
done
printf '%s\n' "$cp"
[ "$cosigned" = 1 ] || { echo "the peers did not cosign hub-nl's checkpoint" >&2; exit 1; }

say "the platform pulls the list, requiring two witnesses in two jurisdictions"
key() { grep -o "\"$2\":\"[^\"]*\"" "$work/$1.keys.json" | cut -d'"' -f4; }
cat >"$work/witness-policy.json" <<END
{"quorum": 2, "min_jurisdictions": 2, "witnesses": [
  {"name": "hashhub/hub-gb/witness", "verifier_key": "$(key hub-gb witness_verifier_key)", "jurisdiction": "GB"},
  {"name": "hashhub/hub-platform/witness", "verifier_key": "$(key hub-platform witness_verifier_key)", "jurisdiction": "IE"}]}
END
curl -sf "${url[hub-nl]}/v1/keys/release.pem" >"$work/hub-nl.release.pem"
rm -rf "$work/platform-mirror"
run hashctl --server "${url[hub-nl]}" --credentials "$work/platform.json" pull --list verified --dir "$work/platform-mirror" \
  --key "$work/hub-nl.release.pem" --log-key "$(key hub-nl log_verifier_key)" --witness-policy "$work/witness-policy.json"
run hashctl verify --dir "$work/platform-mirror"
run hashctl mirror export --dir "$work/platform-mirror"

say "done: three nodes, mutual witnessing, a verified and witnessed pull"
