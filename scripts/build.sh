#!/usr/bin/env bash
# Builds one Lambda package per functions/<name>/ (functions/local is the
# local server, not a Lambda): linux/arm64 static binary named bootstrap for
# the provided.al2023 runtime, zipped at build/lambda/<name>.zip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=build/lambda

shopt -s nullglob
names=()
for dir in functions/*/; do
  name=$(basename "$dir")
  [[ $name == local ]] && continue
  compgen -G "$dir*.go" >/dev/null || continue
  names+=("$name")
done
if ((${#names[@]} == 0)); then
  echo "build: no functions/*/ packages yet"
  exit 0
fi

mkdir -p "$out"
for name in "${names[@]}"; do
  # The build cache is shared with ordinary builds (GOCACHE untouched).
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath \
    -ldflags="-s -w" -o "$out/$name/bootstrap" "./functions/$name"
  rm -f "$out/$name.zip" # zip would otherwise update the old archive
  zip -q -j -X "$out/$name.zip" "$out/$name/bootstrap"
done

printf '%-28s %12s %12s\n' FUNCTION ZIP BOOTSTRAP
for name in "${names[@]}"; do
  printf '%-28s %12s %12s\n' "$name" \
    "$(numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$out/$name.zip")")" \
    "$(numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$out/$name/bootstrap")")"
done
