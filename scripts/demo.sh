#!/usr/bin/env bash
# A small hashhub federation on one machine, without Docker: two hotline
# nodes in different jurisdictions (hub-nl, hub-gb) and a platform-side
# node (hub-platform). The nodes register each other as peers; the hotline
# nodes pull each other's shared list and hub-platform pulls both, each
# verifying every release and importing the origin-signed assessments.
# A hash the Dutch hotline reported qualifies for hub-platform's list only
# once the British hotline has assessed it too; hub-platform then publishes
# it, its peers cosign its checkpoint, and a platform pulls the list into a
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
      --release-interval 0 --metrics-addr "" >"$work/$n.out" 2>"$work/$n.log" &
    pids+=($!)
    url[$n]="http://127.0.0.1:$port"
    creds[$n]="$work/$n/admin.json"
    port=$((port + 1))
  done
fi

# Wait (at most 30 s each) until every node answers /readyz with its own id:
# another process on the port must not pass for it. A node started here
# that exits (a taken port, a bad flag) stops the demo at once, with its log.
i=0
for n in "${nodes[@]}"; do
  pid=${pids[$i]:-}
  i=$((i + 1))
  ready=0
  for _ in $(seq 150); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "$n exited:" >&2; cat "$work/$n.log" >&2; exit 1
    fi
    if [[ $(curl -sf -m 2 "${url[$n]}/readyz") == *"\"node\":\"$n\""* ]]; then ready=1; break; fi
    sleep 0.2
  done
  [ "$ready" = 1 ] || { echo "$n did not answer as $n at ${url[$n]} within 30 s" >&2; exit 1; }
done

as() { local n=$1; shift; hashctl --server "${url[$n]}" --credentials "${creds[$n]}" "$@"; }

say "each node publishes its keys; each admin registers the other two as peers"
# Who pulls which list: the hotlines pull each other's "shared" list; the
# platform-side node pulls both. A peer registered with no list is known
# by its keys (it witnesses, and records that originated there verify).
declare -A pulls=([hub-nl:hub-gb]=shared [hub-gb:hub-nl]=shared [hub-platform:hub-nl]=shared [hub-platform:hub-gb]=shared)
for n in "${nodes[@]}"; do
  curl -sf "${url[$n]}/v1/keys" >"$work/$n.keys.json"
done
for n in "${nodes[@]}"; do
  for p in "${nodes[@]}"; do
    [ "$n" = "$p" ] && continue
    lists=()
    [ -n "${pulls[$n:$p]:-}" ] && lists=(--lists "${pulls[$n:$p]}")
    run as "$n" peers add --name "Operator of $p" --jurisdiction "${jur[$p]}" --url "${url[$p]}" \
      --keys "$work/$p.keys.json" "${lists[@]}" >/dev/null
  done
  as "$n" peers list
done

say "each hotline node: a hotline, its analyst and a list shared with peers"
for n in hub-nl hub-gb; do
  j=${jur[$n]}
  run as "$n" orgs create --name "Hotline $j" --kind hotline --jurisdiction "$j" >/dev/null
  rm -f "$work/$n-analyst.json"
  run as "$n" users create --org "Hotline $j" --name "Analyst $j" --credentials-out "$work/$n-analyst.json"
  run as "$n" lists create --name shared --min-assessments 1 --reader-roles peer >/dev/null
done

say "hub-platform: a platform, and a list needing hotlines of two jurisdictions"
run as hub-platform orgs create --name "Example Platform" --kind platform --jurisdiction IE >/dev/null
rm -f "$work/platform.json"
run as hub-platform users create --org "Example Platform" --name "Trust and Safety" --credentials-out "$work/platform.json"
run as hub-platform lists create --name verified --min-assessments 2 --min-orgs 2 --min-jurisdictions 2 --reader-roles platform

say "the Dutch hotline imports synthetic hashes; hub-nl publishes its shared list"
cat >"$work/hashes.ndjson" <<'END'
{"algo":"md5","value":"00112233445566778899aabbccddeeff","severity":"A"}
{"algo":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709","severity":"B"}
{"algo":"pdq","value":"f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f","quality":90}
END
run hashctl --server "${url[hub-nl]}" --credentials "$work/hub-nl-analyst.json" hashes import "$work/hashes.ndjson"
run as hub-nl lists release shared

# wait_for TEXT CMD...: run CMD until its output contains TEXT.
wait_for() {
  local want=$1; shift
  for _ in $(seq 150); do
    if out=$("$@" 2>&1) && grep -q -- "$want" <<<"$out"; then return 0; fi
    sleep 0.2
  done
  printf '%s\n' "$out"
  echo "timed out waiting for: $want" >&2
  exit 1
}

say "hub-gb and hub-platform pull it, verify it and import the signed assessments"
wait_for "sync shared: *ok, version 1 applied" as hub-platform peers show hub-nl
wait_for "sync shared: *ok, version 1 applied" as hub-gb peers show hub-nl
run as hub-platform peers show hub-nl
run as hub-platform hashes show md5 00112233445566778899aabbccddeeff

say "one jurisdiction is not enough for hub-platform's list; the British hotline assesses the md5 on hub-gb"
run hashctl --server "${url[hub-gb]}" --credentials "$work/hub-gb-analyst.json" hashes assess md5 00112233445566778899aabbccddeeff --verdict illegal
run as hub-gb lists release shared

say "hub-platform imports GB's assessment and publishes verified by itself"
wait_for "00112233445566778899aabbccddeeff" as hub-platform lists entries verified
run as hub-platform lists entries verified
run as hub-platform hashes show md5 00112233445566778899aabbccddeeff

# token N: an access token of node N's admin (OAuth 2.0 client credentials).
token() {
  local id secret
  id=$(grep -o '"client_id": *"[^"]*"' "${creds[$1]}" | cut -d'"' -f4)
  secret=$(grep -o '"client_secret": *"[^"]*"' "${creds[$1]}" | cut -d'"' -f4)
  curl -sf -u "$id:$secret" -d grant_type=client_credentials "${url[$1]}/v1/oauth/token" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4
}
tok=$(token hub-platform)
wait_for '"entries":1' curl -sf -H "Authorization: Bearer $tok" "${url[hub-platform]}/v1/lists/verified/releases/latest"
printf '%s\n' "$out"

say "hub-nl and hub-gb witness hub-platform's log"
cosigned=0
for _ in $(seq 150); do
  cp=$(curl -sf "${url[hub-platform]}/v1/log/checkpoint")
  if grep -q "hashhub/hub-gb/witness" <<<"$cp" && grep -q "hashhub/hub-nl/witness" <<<"$cp"; then
    cosigned=1
    break
  fi
  sleep 0.2
done
printf '%s\n' "$cp"
[ "$cosigned" = 1 ] || { echo "the peers did not cosign hub-platform's checkpoint" >&2; exit 1; }

say "the platform pulls verified, requiring two witnesses in two jurisdictions"
key() { grep -o "\"$2\":\"[^\"]*\"" "$work/$1.keys.json" | cut -d'"' -f4; }
cat >"$work/witness-policy.json" <<END
{"quorum": 2, "min_jurisdictions": 2, "witnesses": [
  {"name": "hashhub/hub-nl/witness", "verifier_key": "$(key hub-nl witness_verifier_key)", "jurisdiction": "NL"},
  {"name": "hashhub/hub-gb/witness", "verifier_key": "$(key hub-gb witness_verifier_key)", "jurisdiction": "GB"}]}
END
curl -sf "${url[hub-platform]}/v1/keys/release.pem" >"$work/hub-platform.release.pem"
rm -rf "$work/platform-mirror"
run hashctl --server "${url[hub-platform]}" --credentials "$work/platform.json" pull --list verified --dir "$work/platform-mirror" \
  --key "$work/hub-platform.release.pem" --log-key "$(key hub-platform log_verifier_key)" --witness-policy "$work/witness-policy.json"
run hashctl verify --dir "$work/platform-mirror"
run hashctl mirror export --dir "$work/platform-mirror"

say "done: three nodes sync each other's lists with signed provenance, witness each other, and a platform pulls a witnessed list"
