#!/usr/bin/env bash
# Sizes and start-up times of every function (bench/coldstart), against
# emulators started for the run (scripts/emulators.sh --mode test).
#
#   scripts/coldstart.sh [--make-build] [bench/coldstart flags...]
#
#   --make-build   run scripts/build.sh first (`make build`: writes
#                  build/lambda/*.zip and prints its size table)
#   other flags go to bench/coldstart: -runs N (default 5), -functions a,b,
#   -lambda=false, -no-http, -sizes-only, -json, -overlay FILE (what-if builds)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

make_build=0 args=()
for a in "$@"; do
  case $a in
    --make-build) make_build=1 ;;
    *) args+=("$a") ;;
  esac
done

if ((make_build)); then
  scripts/build.sh
fi

scripts/emulators.sh --mode test run-with -- go run ./bench/coldstart "${args[@]}"
