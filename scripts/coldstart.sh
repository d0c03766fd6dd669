#!/usr/bin/env bash
# Sizes and start-up times of every function (bench/coldstart), against
# emulators started for the run (scripts/emulators.sh --mode test).
#
#   scripts/coldstart.sh [--make-build] [--what-if-lazy-dummy-hash] [bench/coldstart flags...]
#
#   --make-build               run scripts/build.sh first (`make build`: writes
#                              build/lambda/*.zip and prints its size table)
#   --what-if-lazy-dummy-hash  build with shared/auth/passwords.go's dummy
#                              argon2id hash computed on first use instead of
#                              at package init (a go build -overlay: the
#                              repository is not touched)
#   other flags go to bench/coldstart: -runs N (default 5), -functions a,b,
#   -lambda=false, -no-http, -sizes-only, -json
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

make_build=0 what_if=0 args=()
for a in "$@"; do
  case $a in
    --make-build) make_build=1 ;;
    --what-if-lazy-dummy-hash) what_if=1 ;;
    *) args+=("$a") ;;
  esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rampart-coldstart-sh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if ((make_build)); then
  scripts/build.sh
fi

if ((what_if)); then
  src=shared/auth/passwords.go
  grep -q '^var dummyHash, _ = HashPassword("rampart-dummy-password")$' "$src" ||
    { echo "coldstart: $src no longer computes dummyHash at package init: the what-if does not apply" >&2; exit 1; }
  sed -e 's|^var dummyHash, _ = HashPassword("rampart-dummy-password")$|var dummyHashOnce = sync.OnceValue(func() string { h, _ := HashPassword("rampart-dummy-password"); return h })|' \
    -e 's|verify(password, dummyHash)|verify(password, dummyHashOnce())|' \
    -e '0,/^import (/s//import (\n\t"sync"/' "$src" >"$tmp/passwords.go"
  printf '{"Replace": {"%s": "%s"}}\n' "$PWD/$src" "$tmp/passwords.go" >"$tmp/overlay.json"
  args=(-overlay "$tmp/overlay.json" "${args[@]}")
  echo "coldstart: what-if build: dummyHash computed on first use (overlay of $src)" >&2
fi

scripts/emulators.sh --mode test run-with -- go run ./bench/coldstart "${args[@]}"
