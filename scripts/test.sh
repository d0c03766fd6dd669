#!/usr/bin/env bash
# The checks of `make test`, run by the Makefile under scripts/emulators.sh
# (which exports the emulator settings): formatting, vet, the root module's
# tests, then the infra module's tests if that module exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
make_cmd=${MAKE:-make}

echo "test: gofmt -l"
# All Go files of the repository (infra included) except installed or
# generated trees and testdata, which may hold deliberately odd files.
unformatted=$(find . \( -path ./node_modules -o -path ./.cache -o -path ./.data -o -path ./build \
  -o -path ./cdk.out -o -path '*/cdk.out' -o -path '*/testdata' -o -path '*/vendor' -o -path './.git' \) -prune \
  -o -name '*.go' -type f -print0 | xargs -0 -r gofmt -l)
if [[ -n $unformatted ]]; then
  echo "test: these files need gofmt -w:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "test: go vet ./..."
go vet ./...

echo "test: go test -count=1 -timeout 20m ./..."
# Through -json so that the run ends with one line counting every test.
mkdir -p .cache
go test -json -count=1 -timeout 20m ./... | python3 scripts/gotest-report.py | tee .cache/test-summary.txt

# A short pass of every fuzz target over fresh inputs (the corpus and saved
# crashers already ran as plain tests above); `make fuzz` runs longer.
echo "test: fuzz, ${TEST_FUZZTIME:-3s} per target"
FUZZTIME=${TEST_FUZZTIME:-3s} scripts/fuzz.sh

# infra/ is a separate module (awscdk is heavy): its tests run through
# `make test-infra`, which mk/infra.mk may define; the Makefile has a fallback.
if [[ -f infra/go.mod ]]; then
  echo "test: make test-infra"
  "$make_cmd" --no-print-directory test-infra
fi

# The count of the root module's tests closes the run (infra and fuzz
# passed above, or the script stopped).
echo "test: $(tail -n 1 .cache/test-summary.txt)"
