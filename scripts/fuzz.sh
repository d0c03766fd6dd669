#!/usr/bin/env bash
# Runs every Go fuzz target of the root module for FUZZTIME each (default
# 30s), one at a time: go test accepts one -fuzz target per package run.
#
#   FUZZTIME=3s scripts/fuzz.sh          short pass over all targets
#   scripts/fuzz.sh FuzzParseCron        only the targets named (regexp-free)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${FUZZTIME:-30s}
only=("$@")

# "dir name" pairs for each `func FuzzXxx(f *testing.F)` in a _test.go file
# of the root module (infra/ is its own module and has no parsers of user input).
mapfile -t targets < <(
  find . \( -path ./node_modules -o -path ./.cache -o -path ./.data -o -path ./build \
    -o -path ./cdk.out -o -path ./infra -o -path '*/testdata' -o -path '*/vendor' -o -path ./.git \) -prune \
    -o -name '*_test.go' -type f -print0 |
    xargs -0 -r grep -HoE '^func Fuzz[A-Za-z0-9_]*\(' |
    sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' | sort -u
)

if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz targets found"
  exit 0
fi

failed=()
ran=0
for t in "${targets[@]}"; do
  dir=${t% *} name=${t#* }
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $name "* ]]; then
    continue
  fi
  ran=$((ran + 1))
  echo "fuzz: $name in $dir for $fuzztime"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir"; then
    failed+=("$dir $name")
  fi
done

if ((${#failed[@]})); then
  # Failing inputs are saved under the package's testdata/fuzz/<name>/: commit
  # them so the plain `go test` keeps checking them.
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: $ran target(s) passed"
