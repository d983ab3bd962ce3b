#!/usr/bin/env bash
# The project's test command (README): formatting, vet, and every test with
# the race detector, including the OpenAPI staleness check and lint. Tests
# that need a program from outside Go skip, saying how to install it, when
# it is missing (on CI, CI=1, they fail instead); the note below lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
bash scripts/deps.sh --check
# The race detector needs cgo and a C compiler. Without one the tests still
# run, without it, and say so; CI must have it (scripts/deps.sh installs gcc).
race=-race
if [ "$(go env CGO_ENABLED)" != 1 ] || ! command -v "$(go env CC)" >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "the race detector needs cgo and a C compiler: apt-get install gcc" >&2
    exit 1
  fi
  echo "note: no C compiler ($(go env CC)), so the tests run without the race detector (install: apt-get install gcc)" >&2
  race=
fi
go test $race -count=1 -timeout 15m ./...
