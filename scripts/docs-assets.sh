#!/usr/bin/env bash
# Copies the Swagger UI and ReDoc browser bundles from node_modules into
# shared/httpapi/docsassets/, where they are committed and embedded with
# go:embed, so the API docs pages load with no CDN.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
dest=shared/httpapi/docsassets
swagger=node_modules/swagger-ui-dist
redoc=node_modules/redoc

if [[ ! -d $swagger || ! -d $redoc ]]; then
  # node_modules comes from package-lock.json; install it rather than fail.
  "$root/scripts/tools.sh" --npm-only
fi

version() { node -p "require('./$1/package.json').version"; }

mkdir -p "$dest"
# Only the files the two pages need; the .map files would triple the binary size.
install -m 0644 "$swagger/swagger-ui.css" "$swagger/swagger-ui-bundle.js" \
  "$swagger/swagger-ui-standalone-preset.js" "$redoc/bundles/redoc.standalone.js" "$dest/"
# The .map files are not shipped: drop the trailing comments that point at
# them, or browser dev tools request them and log 404s.
sed -i -E 's@^//# sourceMappingURL=[^ ]*\.map$@@; s@/\*# sourceMappingURL=[^ ]*\.map ?\*/$@@' \
  "$dest/swagger-ui.css" "$dest/redoc.standalone.js"
# The bundles point at their license files; keep the licenses beside them.
install -m 0644 "$swagger/LICENSE" "$dest/LICENSE.swagger-ui-dist.txt"
install -m 0644 "$redoc/LICENSE" "$dest/LICENSE.redoc.txt"

{
  echo "# Copied from node_modules by scripts/docs-assets.sh (make docs-assets); do not edit."
  echo "swagger-ui-dist $(version "$swagger") Apache-2.0"
  echo "redoc $(version "$redoc") MIT"
} >"$dest/VERSIONS"

echo "docs-assets: $dest (swagger-ui-dist $(version "$swagger"), redoc $(version "$redoc"))"
