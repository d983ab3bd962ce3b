#!/usr/bin/env bash
# Regenerates the OpenAPI spec in openapi/ from the handlers' swag
# annotations. The test run (openapi/openapi_test.go) fails when the
# committed spec differs from what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-openapi}"
go tool swag init --quiet -g server/server.go -d ./ -o "$out" \
  --outputTypes go,json,yaml --parseInternal --packageName openapi
