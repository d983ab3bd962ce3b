#!/usr/bin/env bash
# Installs the programs from outside Go that the tests use (Debian/Ubuntu,
# as root). Without them `bash scripts/test.sh` still passes on a developer's
# machine: each test that needs a missing one is skipped and says how to get
# it (internal/needtool). On CI (CI=1) a missing one fails the test, so
# .ci/run runs this script first.
#
#   bash scripts/deps.sh           install what is missing (apt-get)
#   bash scripts/deps.sh --check   only list what is missing and exit 0
set -euo pipefail

missing=""
need() { missing="$missing $1"; }
# The README walkthroughs drive a node with curl and check a release with
# openssl; the set-root tests run the auditor's Python script.
command -v curl >/dev/null 2>&1 || need curl
command -v openssl >/dev/null 2>&1 || need openssl
command -v python3 >/dev/null 2>&1 || need python3
# The notice-by-email tests run a real SMTP server (Debian's aiosmtpd, which
# serves the system python3; a pyenv python3 first on PATH does not see it).
{ python3 -c 'import aiosmtpd' || /usr/bin/python3 -c 'import aiosmtpd'; } >/dev/null 2>&1 || need python3-aiosmtpd
# docker-compose validates docker-compose.yml (no Docker engine needed).
command -v docker-compose >/dev/null 2>&1 || need docker-compose
# npx runs the OpenAPI linter (openapi/lint_test.go).
command -v npx >/dev/null 2>&1 || need npm
# A published tree is served by a real web server in the pull --from tests.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need nginx
# go test -race needs cgo and a C compiler.
command -v gcc >/dev/null 2>&1 || need gcc
# The jurisdiction table is checked against tzdata's ISO 3166 table.
[ -e /usr/share/zoneinfo/iso3166.tab ] || need tzdata
# The console's browser tests drive Debian's chromium (chromedp).
command -v chromium >/dev/null 2>&1 || need chromium
# ...and check every page with axe-core, installed from npm into a cache
# directory the tests look in (internal/needtool.AxeCore; keep the version
# in step with needtool.AxeCoreVersion).
AXE_VERSION=4.10.3
AXE_DIR="${HASHHUB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hashhub}/axe-core-$AXE_VERSION"
axe_missing=""
[ -e "$AXE_DIR/node_modules/axe-core/axe.min.js" ] || axe_missing=1
install_axe() {
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-audit --no-fund --silent "axe-core@$AXE_VERSION" >/dev/null
}
# The bucket tests (publish to s3://, pull --from s3://) run SeaweedFS's
# weed, built from its pinned module into the same cache by weed.sh
# (about 5 minutes on 2 cores, once; internal/needtool.Weed).
WEED_SH="$(dirname "$0")/weed.sh"
weed_missing=""
bash "$WEED_SH" --check >/dev/null 2>&1 || weed_missing=1
install_weed() {
  bash "$WEED_SH" >/dev/null
}

if [ "${1:-}" = "--check" ]; then
  if [ -n "$missing" ]; then
    echo "note: missing$missing; the tests that need them are skipped (install: sudo bash scripts/deps.sh)" >&2
  fi
  if [ -n "$axe_missing" ]; then
    echo "note: missing axe-core $AXE_VERSION in $AXE_DIR; the console's accessibility checks are skipped (install: bash scripts/deps.sh)" >&2
  fi
  if [ -n "$weed_missing" ]; then
    echo "note: missing SeaweedFS weed; the bucket tests are skipped (build it: bash scripts/weed.sh)" >&2
  fi
  exit 0
fi
if [ -z "$missing" ]; then
  if [ -n "$axe_missing" ]; then
    install_axe
  fi
  if [ -n "$weed_missing" ]; then
    install_weed
  fi
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing:$missing; install them (Debian/Ubuntu: apt-get install$missing as root)" >&2
  exit 1
fi
echo "installing:$missing" >&2
(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing) >/dev/null
if [ -n "$axe_missing" ]; then
  install_axe
fi
if [ -n "$weed_missing" ]; then
  install_weed
fi
