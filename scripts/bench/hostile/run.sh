#!/usr/bin/env bash
# Peak RSS of a pull from a hostile peer, before and after bounded peer
# input (scripts/bench/hostile/main.go says what is served and measured).
#
# Builds hashctl and hashhub from the working tree ("after") and from
# BEFORE (default 3a60f1c, the commit before the change; extracted with
# git archive, no worktree), then runs for each:
#   snapshot 64 MiB and 1 GiB  (hashctl pull; A's list has 300,000 entries)
#   records 1 GiB               (hashhub serve pulling a 100-entry list)
# and, with CASES="peer-records:1GiB", records signed by the peer itself.
#
#   scripts/bench/hostile/run.sh
#
# Env: BEFORE=<commit>; GUARD_MB (default 4096) kills a victim past it;
# CASES to run a subset, e.g. CASES="snapshot:64MiB"; SERVE_ARGS adds
# flags to the records victim's hashhub serve on the after side, e.g.
# SERVE_ARGS="--peer-max-records-bytes 67108864".
set -euo pipefail
cd "$(dirname "$0")/../../.."
BEFORE=${BEFORE:-3a60f1c}
GUARD_MB=${GUARD_MB:-4096}
CASES=${CASES:-"snapshot:64MiB snapshot:1GiB records:1GiB"}
SERVE_ARGS=${SERVE_ARGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/before"
git archive "$BEFORE" | tar -x -C "$work/before"
(cd "$work/before" && go build -o "$work/hashctl-before" ./cmd/hashctl && go build -o "$work/hashhub-before" ./cmd/hashhub)
go build -o "$work/hashctl-after" ./cmd/hashctl
go build -o "$work/hashhub-after" ./cmd/hashhub
go build -o "$work/bench" ./scripts/bench/hostile
for c in $CASES; do
  kind=${c%%:*} size=${c##*:}
  entries=300000
  [ "$kind" != snapshot ] && entries=100
  for v in before after; do
    extra=""
    [ $v = after ] && extra=$SERVE_ARGS
    echo "== $kind $size, $v ($([ $v = before ] && echo "$BEFORE" || git rev-parse --short HEAD))"
    "$work/bench" -case "$kind" -size "$size" -entries "$entries" -guard-mb "$GUARD_MB" \
      -hashctl "$work/hashctl-$v" -hashhub "$work/hashhub-$v" -serve-args "$extra" | grep -v '^case=\|^entries='
  done
done
