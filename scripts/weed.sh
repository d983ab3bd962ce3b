#!/usr/bin/env bash
# Builds SeaweedFS's weed, the S3 server of the bucket tests (publish to
# s3://, hashctl pull --from s3://), into the cache the tests look in
# (internal/needtool.Weed) unless it is there already, and prints its path.
# `go install` refuses SeaweedFS's module (its go.mod has replace
# directives), so the pinned version is downloaded with `go mod download`
# and built in the module's directory: about 5 minutes on 2 cores, once.
#
#   bash scripts/weed.sh           build if missing; print the binary's path
#   bash scripts/weed.sh --check   print the path if built, else exit 1
set -euo pipefail

# Keep in step with needtool.WeedVersion.
WEED_MODULE=github.com/seaweedfs/seaweedfs
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
WEED_SHORT=${WEED_VERSION##*-}
WEED_DIR="${HASHHUB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hashhub}/weed-$WEED_SHORT"
WEED_BIN="$WEED_DIR/weed"

if [ -x "$WEED_BIN" ]; then
  echo "$WEED_BIN"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  exit 1
fi
command -v go >/dev/null 2>&1 || { echo "weed.sh: go is not on PATH" >&2; exit 1; }

echo "weed: downloading $WEED_MODULE@$WEED_VERSION" >&2
src=$(cd "${TMPDIR:-/tmp}" && go mod download -json "$WEED_MODULE@$WEED_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
if [ -z "$src" ] || [ ! -d "$src/weed" ]; then
  echo "weed.sh: go mod download gave no module directory" >&2
  exit 1
fi
mkdir -p "$WEED_DIR"
tmp="$WEED_DIR/weed.tmp.$$"
trap 'rm -f "$tmp"' EXIT
echo "weed: building in $src (about 5 minutes on 2 cores; progress every 30 s)" >&2
start=$(date +%s)
(cd "$src" && GOFLAGS=-buildvcs=false go build -o "$tmp" ./weed) &
build=$!
while kill -0 "$build" 2>/dev/null; do
  sleep 30 &
  wait $! || true
  kill -0 "$build" 2>/dev/null && echo "weed: still building ($(( $(date +%s) - start )) s)" >&2
done
wait "$build"
mv "$tmp" "$WEED_BIN"
echo "weed: built in $(( $(date +%s) - start )) s" >&2
echo "$WEED_BIN"
